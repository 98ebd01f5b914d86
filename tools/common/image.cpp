#include "tools/common/image.h"

#include "tools/common/tool_util.h"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace pocket::tools {
namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 26;  // 64 Mpixel

float channel_value(const std::vector<float>& v, int c, float fallback) {
  if (v.empty()) return fallback;
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
}

// Pixel (x, y) as the model's channel c wants it (after colour order / luminance), 0..255.
float pixel(const Image& img, const Preprocessing& p, int channels, int x, int y, int c) {
  const uint8_t* px = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
  if (channels == 1) return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
  const int src = p.color_order == "BGR" ? 2 - c : c;
  return px[src];
}

// stb_image 2.27 (Debian's) trusts a JPEG DHT segment's 16 code counts: a table whose counts
// add up to more than 256 codes overruns the decoder's fixed Huffman arrays (found by
// fuzz_image). Returns false when any Huffman table stb would read has more than 256 codes.
// It walks the segments as stb does: before the first scan, length-delimited segments with junk
// bytes skipped between them; from the first SOS on (entropy-coded data, and segments between
// progressive scans) every 0xFF 0xC4 marker is checked, so a desynchronised walk cannot miss one.
bool jpeg_huffman_tables_ok(const uint8_t* b, size_t size, size_t start, std::string* why) {
  auto get8 = [&](size_t i) -> int { return i < size ? b[i] : 0; };  // stb reads 0 past the end
  auto check_dht = [&](size_t seg) -> bool {  // seg: first byte after the 0xC4 marker
    int64_t left = (get8(seg) << 8 | get8(seg + 1)) - 2;
    size_t i = seg + 2;
    while (left > 0) {
      const int q = get8(i++);
      if ((q >> 4) > 1 || (q & 15) > 3) return true;  // stb rejects the table itself
      int n = 0;
      for (int k = 0; k < 16; ++k) n += get8(i++);
      if (n > 256) {
        *why = "corrupt JPEG: a Huffman table declares " + std::to_string(n) + " codes (at most 256)";
        return false;
      }
      i += static_cast<size_t>(n);
      left -= 17 + n;
    }
    return true;
  };
  size_t i = start;  // after SOI
  while (i + 1 < size) {
    if (b[i] != 0xFF) {  // junk between segments: stb skips it byte by byte
      ++i;
      continue;
    }
    while (i < size && b[i] == 0xFF) ++i;
    if (i >= size) break;
    const int m = b[i++];
    if (m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0xC4 && !check_dht(i)) return false;
    if (m == 0xDA) break;  // SOS: entropy-coded data follows
    i += static_cast<size_t>(get8(i) << 8 | get8(i + 1));
  }
  for (; i + 1 < size; ++i) {
    if (b[i] != 0xFF) continue;
    size_t j = i;
    while (j < size && b[j] == 0xFF) ++j;
    if (j < size && b[j] == 0xC4 && !check_dht(j + 1)) return false;
  }
  return true;
}

// stb_image 2.27 reads a PGM/PPM header's width, height and maxval into an int without an
// overflow check (signed overflow, found by fuzz_image). Reads the header the way stb does
// (whitespace and '#' comments skipped) and refuses a number of more than 9 digits.
bool pnm_header_ok(const uint8_t* b, size_t size, std::string* why) {
  size_t i = 2;
  auto space = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  int64_t value[3] = {0, 0, 0};  // width, height, maxval
  for (int field = 0; field < 3; ++field) {
    while (true) {
      while (i < size && space(b[i])) ++i;
      if (i >= size || b[i] != '#') break;
      while (i < size && b[i] != '\n' && b[i] != '\r') ++i;
    }
    size_t digits = 0;
    for (; i < size && b[i] >= '0' && b[i] <= '9'; ++i)
      if (++digits <= 9) value[field] = value[field] * 10 + (b[i] - '0');
    if (digits > 9) {
      *why = "corrupt PGM/PPM header: a size field of " + std::to_string(digits) + " digits";
      return false;
    }
  }
  // A field without digits reads as 0, as in stb. The byte after the last field, then the raster. stb_image 2.27 ignores a short read and returns the
  // rest of its buffer uninitialised: a truncated file must be an error, not garbage pixels.
  const int64_t channels = b[1] == '6' ? 3 : 1, sample = value[2] > 255 ? 2 : 1;
  const int64_t need = value[0] * value[1] * channels * sample;  // < 10^18: 9-digit fields
  const int64_t have = static_cast<int64_t>(size) - static_cast<int64_t>(std::min(size, i + 1));
  if (need > have) {
    *why = "PGM/PPM file truncated: " + std::to_string(value[0]) + "x" + std::to_string(value[1]) + " needs " +
           std::to_string(need) + " bytes of pixels, the file has " + std::to_string(have);
    return false;
  }
  return true;
}

}  // namespace

bool decode_image(const void* bytes, size_t size, Image* out, std::string* error, int64_t max_pixels) {
  if (size > static_cast<size_t>(INT32_MAX)) {
    *error = "image file is too large";
    return false;
  }
  const auto* b = static_cast<const stbi_uc*>(bytes);
  std::string why_pre;
  size_t soi = 0;  // stb takes any run of 0xFF then 0xD8 as a JPEG start
  while (soi < size && b[soi] == 0xFF) ++soi;
  if (soi > 0 && soi < size && b[soi] == 0xD8 && !jpeg_huffman_tables_ok(b, size, soi + 1, &why_pre)) {
    *error = "not a readable image (" + why_pre + ")";
    return false;
  }
  const bool pnm = size >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6');
  if (pnm && !pnm_header_ok(b, size, &why_pre)) {
    *error = "not a readable image (" + why_pre + ")";
    return false;
  }
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(b, static_cast<int>(size), &w, &h, &c)) {
    const char* why = stbi_failure_reason();
    *error = std::string("not a readable image (") + (why ? why : "unknown format") + ")";
    return false;
  }
  // stb_image 2.27 converts a 16-bit PGM to RGB as if it were 8-bit, then reads twice the
  // buffer it made (heap overflow found by fuzz_image): 16-bit PGM/PPM files are refused.
  if (pnm && stbi_is_16_bit_from_memory(b, static_cast<int>(size))) {
    *error = "16-bit PGM/PPM images are not supported (save them with 8 bits per sample)";
    return false;
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > std::min(kMaxPixels, max_pixels)) {
    *error = "image size " + std::to_string(w) + "x" + std::to_string(h) + " is not supported";
    return false;
  }
  stbi_uc* data = stbi_load_from_memory(b, static_cast<int>(size), &w, &h, &c, 3);
  if (!data) {
    const char* why = stbi_failure_reason();
    *error = std::string("cannot decode image (") + (why ? why : "corrupt data") + ")";
    return false;
  }
  out->width = w;
  out->height = h;
  out->rgb.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return true;
}

bool load_image(const std::string& path, Image* out, std::string* error) {
  std::vector<uint8_t> bytes;
  if (!read_file(path, &bytes, error)) {
    *error = "cannot read image: " + *error;
    return false;
  }
  std::string why;
  if (!decode_image(bytes.data(), bytes.size(), out, &why)) {
    *error = "'" + path + "': " + why;
    return false;
  }
  return true;
}

Preprocessing imagenet_preprocessing(int width, int height, const std::string& layout) {
  Preprocessing p;
  p.width = width;
  p.height = height;
  p.layout = layout;
  p.mean = {0.485f, 0.456f, 0.406f};
  p.std = {0.229f, 0.224f, 0.225f};
  return p;
}

bool validate_preprocessing(const Preprocessing& p, int channels, std::string* error) {
  if (p.width <= 0 || p.height <= 0 || static_cast<int64_t>(p.width) * p.height > kMaxPixels) {
    *error = "preprocessing size " + std::to_string(p.width) + "x" + std::to_string(p.height) + " is invalid";
    return false;
  }
  if (p.layout != "NCHW" && p.layout != "NHWC") {
    *error = "preprocessing layout '" + p.layout + "' is not NCHW or NHWC";
    return false;
  }
  if (p.color_order != "RGB" && p.color_order != "BGR") {
    *error = "preprocessing color_order '" + p.color_order + "' is not RGB or BGR";
    return false;
  }
  if (p.resize != "stretch" && p.resize != "shorter_side_center_crop") {
    *error = "preprocessing resize '" + p.resize + "' is not stretch or shorter_side_center_crop";
    return false;
  }
  if (channels != 1 && channels != 3) {
    *error = "image input has " + std::to_string(channels) + " channels (1 or 3 supported)";
    return false;
  }
  auto per_channel_ok = [&](const std::vector<float>& v) {
    return v.empty() || v.size() == 1 || v.size() == static_cast<size_t>(channels);
  };
  if (!per_channel_ok(p.mean) || !per_channel_ok(p.std)) {
    *error = "preprocessing mean/std have " + std::to_string(p.mean.size()) + "/" + std::to_string(p.std.size()) +
             " values for " + std::to_string(channels) + " channels";
    return false;
  }
  for (float s : p.std)
    if (!(s > 0.f) || !std::isfinite(s)) {
      *error = "preprocessing std must be positive";
      return false;
    }
  if (!std::isfinite(p.scale)) {
    *error = "preprocessing scale is not finite";
    return false;
  }
  return true;
}

static bool resize_rgb(const Image& in, int w, int h, Image* out, std::string* error) {
  out->width = w;
  out->height = h;
  out->rgb.assign(static_cast<size_t>(w) * h * 3, 0);
  if (in.width == w && in.height == h) {
    out->rgb = in.rgb;
    return true;
  }
  if (!stbir_resize_uint8_generic(in.rgb.data(), in.width, in.height, 0, out->rgb.data(), w, h, 0, 3,
                                  STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                  STBIR_COLORSPACE_LINEAR, nullptr)) {
    *error = "cannot resize image to " + std::to_string(w) + "x" + std::to_string(h);
    return false;
  }
  return true;
}

bool resize_for_model(const Image& in, const Preprocessing& p, Image* out, std::string* error) {
  if (p.resize == "stretch") return resize_rgb(in, p.width, p.height, out, error);
  // Shorter side to 256/224 of the crop size, keeping the aspect ratio (torchvision truncates the
  // longer side), then the centre p.width x p.height.
  const int target = static_cast<int>(std::lround(256.0 * std::max(p.width, p.height) / 224.0));
  int w, h;
  if (in.width <= in.height) {
    w = target;
    h = static_cast<int>(static_cast<int64_t>(target) * in.height / in.width);
  } else {
    h = target;
    w = static_cast<int>(static_cast<int64_t>(target) * in.width / in.height);
  }
  w = std::max(w, p.width);
  h = std::max(h, p.height);
  Image scaled;
  if (!resize_rgb(in, w, h, &scaled, error)) return false;
  const int top = static_cast<int>(std::lround((h - p.height) / 2.0));
  const int left = static_cast<int>(std::lround((w - p.width) / 2.0));
  out->width = p.width;
  out->height = p.height;
  out->rgb.resize(static_cast<size_t>(p.width) * p.height * 3);
  for (int y = 0; y < p.height; ++y)
    std::memcpy(&out->rgb[static_cast<size_t>(y) * p.width * 3],
                &scaled.rgb[(static_cast<size_t>(y + top) * w + left) * 3], static_cast<size_t>(p.width) * 3);
  return true;
}

void image_to_f32(const Image& img, const Preprocessing& p, int channels, float* out) {
  const bool nchw = p.layout == "NCHW";
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (int c = 0; c < channels; ++c) {
    const float mean = channel_value(p.mean, c, 0.f), inv_std = 1.f / channel_value(p.std, c, 1.f);
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        const size_t i = static_cast<size_t>(y) * img.width + x;
        const float v = (pixel(img, p, channels, x, y, c) * p.scale - mean) * inv_std;
        out[nchw ? c * plane + i : i * channels + c] = v;
      }
  }
}

void image_to_u8(const Image& img, const Preprocessing& p, int channels, uint8_t* out) {
  const bool nchw = p.layout == "NCHW";
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        const size_t i = static_cast<size_t>(y) * img.width + x;
        const float v = std::round(pixel(img, p, channels, x, y, c));
        out[nchw ? c * plane + i : i * channels + c] = static_cast<uint8_t>(std::clamp(v, 0.f, 255.f));
      }
}

}  // namespace pocket::tools
