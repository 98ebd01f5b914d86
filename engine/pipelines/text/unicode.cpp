#include "engine/pipelines/text/unicode.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace pocket::text::unicode {
namespace {

struct LowerRun {
  uint32_t first, last;
  int32_t stride, delta;
};

#include "engine/pipelines/text/unicode_tables.inc"

// Last run starting at or before cp in a (start << 8 | value) run table.
template <size_t N>
uint8_t run_value(const uint32_t (&runs)[N], char32_t cp) {
  if (cp >= 0x110000) return 0;
  const uint32_t key = (static_cast<uint32_t>(cp) << 8) | 0xFF;
  const uint32_t* it = std::upper_bound(std::begin(runs), std::end(runs), key);
  return it == std::begin(runs) ? 0 : static_cast<uint8_t>(*(it - 1) & 0xFF);
}

// flags() of U+0000..U+007F without the search.
constexpr auto kAsciiFlags = [] {
  std::array<uint8_t, 128> a{};
  size_t r = 0;
  for (uint32_t cp = 0; cp < 128; ++cp) {
    while (r + 1 < std::size(kFlagRuns) && (kFlagRuns[r + 1] >> 8) <= cp) ++r;
    a[cp] = static_cast<uint8_t>(kFlagRuns[r] & 0xFF);
  }
  return a;
}();

char32_t simple_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const LowerRun* it = std::upper_bound(std::begin(kLowerRuns), std::end(kLowerRuns), cp,
                                        [](char32_t c, const LowerRun& r) { return c < r.first; });
  if (it == std::begin(kLowerRuns)) return cp;
  const LowerRun& r = *(it - 1);
  if (cp > r.last || (cp - r.first) % static_cast<uint32_t>(r.stride) != 0) return cp;
  return static_cast<char32_t>(static_cast<int64_t>(cp) + r.delta);
}

// Final_Sigma: a cased letter before (skipping case-ignorable ones) and none after.
bool final_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  bool cased_before = false;
  while (j > 0) {
    const uint8_t f = flags(s[--j]);
    if (f & kCaseIgnorable) continue;
    cased_before = (f & kCased) != 0;
    break;
  }
  if (!cased_before) return false;
  for (size_t k = i + 1; k < s.size(); ++k) {
    const uint8_t f = flags(s[k]);
    if (f & kCaseIgnorable) continue;
    return (f & kCased) == 0;
  }
  return true;
}

constexpr char32_t kHangulBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = 11172;

void decompose(char32_t cp, std::u32string* out) {
  if (cp >= kHangulBase && cp < kHangulBase + kSCount) {
    const uint32_t s = cp - kHangulBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  if (cp < 0xC0) {
    out->push_back(cp);
    return;
  }
  const auto* it = std::lower_bound(std::begin(kDecompIndex), std::end(kDecompIndex), cp,
                                    [](const uint32_t(&e)[2], char32_t c) { return e[0] < c; });
  if (it == std::end(kDecompIndex) || (*it)[0] != cp) {
    out->push_back(cp);
    return;
  }
  const uint32_t off = (*it)[1] >> 8, len = (*it)[1] & 0xFF;
  for (uint32_t k = 0; k < len; ++k) out->push_back(static_cast<char32_t>(kDecompPool[off + k]));
}

}  // namespace

static_assert(sizeof(char32_t) == sizeof(uint32_t));

uint8_t flags(char32_t cp) { return cp < 128 ? kAsciiFlags[cp] : run_value(kFlagRuns, cp); }
uint8_t combining_class(char32_t cp) { return cp < 0x300 ? 0 : run_value(kCccRuns, cp); }
const char* unicode_version() { return kUnicodeVersion; }

size_t decode_utf8(std::string_view bytes, std::u32string* out) {
  out->clear();
  out->reserve(bytes.size());
  size_t replaced = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out->push_back(b);
      ++i;
      continue;
    }
    int need = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // valid range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      out->push_back(kReplacement);  // continuation byte or invalid lead byte
      ++replaced;
      ++i;
      continue;
    }
    size_t j = i + 1;
    int got = 0;
    for (; got < need && j < n; ++got, ++j) {
      const unsigned char c = p[j];
      if (got == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (got == need) {
      out->push_back(cp);
    } else {
      out->push_back(kReplacement);  // the maximal valid prefix becomes one U+FFFD
      ++replaced;
    }
    i = j;
  }
  return replaced;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string s;
  s.reserve(text.size());
  for (char32_t c : text) append_utf8(c, &s);
  return s;
}

void to_lower(std::u32string_view in, std::u32string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (c == 0x130) {
      out->push_back(U'i');
      out->push_back(0x307);
    } else if (c == 0x3A3) {
      out->push_back(final_sigma(in, i) ? 0x3C2 : 0x3C3);
    } else {
      out->push_back(simple_lower(c));
    }
  }
}

void to_nfd(std::u32string_view in, std::u32string* out) {
  out->clear();
  out->reserve(in.size() + in.size() / 2);
  for (char32_t c : in) decompose(c, out);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  size_t i = 0;
  while (i < out->size()) {
    if (combining_class((*out)[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out->size() && combining_class((*out)[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(out->begin() + static_cast<std::ptrdiff_t>(i), out->begin() + static_cast<std::ptrdiff_t>(j),
                       [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

}  // namespace pocket::text::unicode
