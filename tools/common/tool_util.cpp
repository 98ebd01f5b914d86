#include "tools/common/tool_util.h"

#include <cstdio>

#include "tools/common/args.h"

namespace pocket::tools {

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
