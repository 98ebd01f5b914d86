#include "engine/pipelines/text/vocab_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "engine/pipelines/text/unicode.h"

namespace pocket::text {

namespace {
constexpr size_t kMaxTokenBytes = 1000;

std::string where(const std::string& name, size_t line) {
  return "vocabulary '" + name + "' line " + std::to_string(line) + ": ";
}
}  // namespace

Status parse_vocab_txt(std::string_view bytes, const std::string& name, std::vector<std::string>* vocab) {
  vocab->clear();
  if (bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.remove_prefix(3);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) nl = bytes.size();
    std::string_view line = bytes.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return invalid_argument("vocabulary '" + name + "' has no tokens");

  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(lines.size());
  std::u32string scratch;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& t = lines[i];
    const size_t line = i + 1;
    if (t.empty()) return invalid_argument(where(name, line) + "empty line (one token per line; ids are line numbers)");
    if (t.find('\0') != std::string::npos) return invalid_argument(where(name, line) + "NUL byte: not a text vocabulary");
    if (t.find('\t') != std::string::npos)
      return invalid_argument(where(name, line) + "contains a tab: not a WordPiece vocab.txt (one token per line)");
    if (t.size() > kMaxTokenBytes)
      return invalid_argument(where(name, line) + "token of " + std::to_string(t.size()) +
                              " bytes: not a WordPiece vocab.txt (one token per line)");
    if (unicode::decode_utf8(t, &scratch) != 0) return invalid_argument(where(name, line) + "invalid UTF-8");
    auto [it, fresh] = seen.emplace(std::string_view(t), line);
    if (!fresh)
      return invalid_argument(where(name, line) + "token '" + t + "' is also on line " + std::to_string(it->second));
  }
  *vocab = std::move(lines);
  return Status::Ok();
}

Status read_vocab_txt(const std::string& path, std::vector<std::string>* vocab) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return io_error("'" + path + "' is not a regular file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '" + path + "': " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return io_error("cannot read '" + path + "'");
  return parse_vocab_txt(bytes, path, vocab);
}

}  // namespace pocket::text
