#include "tools/common/args.h"

#include <algorithm>
#include <charconv>

namespace pocket::tools {

bool parse_int(const std::string& text, int64_t lo, int64_t hi, int64_t* out, std::string* error) {
  int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec == std::errc::invalid_argument || p != e) {
    *error = "'" + text + "' is not an integer";
    return false;
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    *error = "'" + text + "' is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return false;
  }
  *out = v;
  return true;
}

bool split_assignment(const std::string& text, std::string* name, std::string* value) {
  // The name may itself contain '=' only in odd models; file paths rarely do. Split at the first
  // '=' so that paths with '=' still work.
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return false;
  *name = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return true;
}

ArgParser::ArgParser(std::string program, std::string synopsis, std::string description)
    : program_(std::move(program)), synopsis_(std::move(synopsis)), description_(std::move(description)) {}

void ArgParser::flag(const std::string& name, bool* out, const std::string& help) {
  opts_.push_back({name, "", help, Kind::kFlag, out});
}
void ArgParser::option(const std::string& name, const std::string& metavar, std::string* out, const std::string& help) {
  opts_.push_back({name, metavar, help, Kind::kString, out});
}
void ArgParser::option_int(const std::string& name, const std::string& metavar, int64_t lo, int64_t hi, int64_t* out,
                           const std::string& help) {
  opts_.push_back({name, metavar, help, Kind::kInt, out, lo, hi});
}
void ArgParser::repeated(const std::string& name, const std::string& metavar, std::vector<std::string>* out,
                         const std::string& help) {
  opts_.push_back({name, metavar, help, Kind::kRepeated, out});
}
void ArgParser::positional(const std::string& metavar, std::vector<std::string>* out, size_t min_count, bool many,
                           const std::string& help) {
  pos_.push_back({metavar, help, out, min_count, many});
}

bool ArgParser::fail(const std::string& m) {
  error_ = m + " (see " + program_ + " --help)";
  return false;
}

ArgParser::Outcome ArgParser::parse(int argc, const char* const* argv) {
  std::vector<std::string> positionals;
  bool only_positionals = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!only_positionals && (a == "--help" || a == "-h")) return Outcome::kHelp;
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (only_positionals || a.size() < 2 || a[0] != '-' || (a[1] != '-' && !(a[1] >= 'a' && a[1] <= 'z'))) {
      positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    Opt* opt = nullptr;
    for (Opt& o : opts_)
      if (o.name == name) opt = &o;
    if (!opt) {
      fail("unknown option '" + name + "'");
      return Outcome::kError;
    }
    if (opt->kind == Kind::kFlag) {
      if (has_value) {
        fail("option " + name + " takes no value");
        return Outcome::kError;
      }
      *static_cast<bool*>(opt->out) = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        fail("option " + name + " needs a value " + opt->metavar);
        return Outcome::kError;
      }
      value = argv[++i];
    }
    switch (opt->kind) {
      case Kind::kString: *static_cast<std::string*>(opt->out) = value; break;
      case Kind::kRepeated: static_cast<std::vector<std::string>*>(opt->out)->push_back(value); break;
      case Kind::kInt: {
        std::string why;
        if (!parse_int(value, opt->lo, opt->hi, static_cast<int64_t*>(opt->out), &why)) {
          fail("bad value for " + name + ": " + why);
          return Outcome::kError;
        }
        break;
      }
      case Kind::kFlag: break;
    }
  }
  size_t next = 0;
  for (const Pos& p : pos_) {
    const size_t left = positionals.size() - next;
    const size_t take = p.many ? left : std::min<size_t>(left, 1);
    if (take < p.min_count) {
      fail("missing " + p.metavar);
      return Outcome::kError;
    }
    for (size_t k = 0; k < take; ++k) p.out->push_back(positionals[next++]);
  }
  if (next < positionals.size()) {
    fail("unexpected argument '" + positionals[next] + "'");
    return Outcome::kError;
  }
  return Outcome::kOk;
}

std::string ArgParser::help() const {
  std::string h = "usage: " + program_ + " " + synopsis_ + "\n\n" + description_ + "\n";
  if (!pos_.empty()) {
    h += "\narguments:\n";
    for (const Pos& p : pos_) h += "  " + p.metavar + std::string(p.metavar.size() < 22 ? 22 - p.metavar.size() : 1, ' ') + p.help + "\n";
  }
  h += "\noptions:\n";
  for (const Opt& o : opts_) {
    std::string left = o.name + (o.metavar.empty() ? "" : " " + o.metavar);
    h += "  " + left + std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') + o.help + "\n";
  }
  h += "  --help                show this help\n";
  return h;
}

}  // namespace pocket::tools
