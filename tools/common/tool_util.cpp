#include "tools/common/tool_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tools/common/args.h"

namespace pocket::tools {

bool read_file(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "'" + path + "' is not a regular file";
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::read(fd, out->data() + done, out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      *error = "cannot read '" + path + "'" + (n < 0 ? std::string(": ") + std::strerror(err) : std::string(" (file shrank)"));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return true;
}

bool parse_input_assignments(const std::vector<std::string>& specs, std::vector<InputAssignment>* out,
                             std::string* error) {
  out->clear();
  for (const std::string& s : specs) {
    InputAssignment a;
    if (!split_assignment(s, &a.name, &a.path)) {
      *error = "--input expects NAME=FILE.npy, got '" + s + "'";
      return false;
    }
    for (const InputAssignment& b : *out)
      if (b.name == a.name) {
        *error = "input '" + a.name + "' is given twice";
        return false;
      }
    out->push_back(std::move(a));
  }
  return true;
}

std::string sanitize_file_name(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) c = '_';
  }
  if (s.empty() || s == ".") return "_";
  if (s == "..") return "__";
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace pocket::tools
