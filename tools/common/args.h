// A small command-line parser for the tools: --name VALUE, --name=VALUE, boolean flags,
// repeatable options, positionals, strict integer parsing, and --help text built from the spec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pocket::tools {

// Parses a whole decimal integer in [lo, hi]; false on anything else (sets error naming what).
bool parse_int(const std::string& text, int64_t lo, int64_t hi, int64_t* out, std::string* error);
// Splits "NAME=VALUE" at the last '='; false if there is none or either side is empty.
bool split_assignment(const std::string& text, std::string* name, std::string* value);

class ArgParser {
 public:
  ArgParser(std::string program, std::string synopsis, std::string description);

  void flag(const std::string& name, bool* out, const std::string& help);
  void option(const std::string& name, const std::string& metavar, std::string* out, const std::string& help);
  void option_int(const std::string& name, const std::string& metavar, int64_t lo, int64_t hi, int64_t* out,
                  const std::string& help);
  void repeated(const std::string& name, const std::string& metavar, std::vector<std::string>* out,
                const std::string& help);
  // Positionals in order; the last one may take several values (min_count..unbounded).
  void positional(const std::string& metavar, std::vector<std::string>* out, size_t min_count, bool many,
                  const std::string& help);

  enum class Outcome { kOk, kHelp, kError };
  // kHelp: --help/-h was given (print help()); kError: error() has a one-line message.
  Outcome parse(int argc, const char* const* argv);
  const std::string& error() const { return error_; }
  std::string help() const;

 private:
  enum class Kind { kFlag, kString, kInt, kRepeated };
  struct Opt {
    std::string name, metavar, help;
    Kind kind;
    void* out;
    int64_t lo = 0, hi = 0;
  };
  struct Pos {
    std::string metavar, help;
    std::vector<std::string>* out;
    size_t min_count;
    bool many;
  };
  bool fail(const std::string& m);

  std::string program_, synopsis_, description_;
  std::vector<Opt> opts_;
  std::vector<Pos> pos_;
  std::string error_;
};

}  // namespace pocket::tools
