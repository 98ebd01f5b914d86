// Small pieces every tool shares: error reporting, timing, input assignment parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

namespace pocket::tools {

// Reads a whole regular file; errors name the file ("cannot open 'x': No such file or directory",
// "'x' is not a regular file"). Never throws.
bool read_file(const std::string& path, std::vector<uint8_t>* out, std::string* error);

// Prints "<tool>: error: <message>" as one line on stderr and returns exit code 1.
inline int report_error(const char* tool, const std::string& message) {
  std::string one_line = message;
  for (char& c : one_line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "%s: error: %s\n", tool, one_line.c_str());
  return 1;
}

// The last line of defence of a tool's main(): returns body()'s exit code; an exception escaping
// it (std::bad_alloc, a library's std::exception) becomes one error line and exit code 1 instead
// of std::terminate's abort.
template <class Body>
int guarded_main(const char* tool, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    try {
      report_error(tool, std::string("internal error: ") + e.what());
    } catch (...) {
      std::fprintf(stderr, "%s: error: internal error\n", tool);
    }
  } catch (...) {
    std::fprintf(stderr, "%s: error: internal error (unknown exception)\n", tool);
  }
  return 1;
}

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct InputAssignment {
  std::string name, path;
};

// Parses --input NAME=FILE values; rejects malformed ones and names given twice.
bool parse_input_assignments(const std::vector<std::string>& specs, std::vector<InputAssignment>* out,
                             std::string* error);

// Replaces every character outside [A-Za-z0-9_.-] by '_' (an empty name becomes "_"); "." and
// ".." become "_" and "__" so the result is always a plain file name.
std::string sanitize_file_name(const std::string& name);

// A JSON string literal (quotes included) for s.
std::string json_string(const std::string& s);

}  // namespace pocket::tools
