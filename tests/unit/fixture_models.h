// The torchvision fixture models for unit tests that run a whole model (concurrency, Vulkan).
// tests/models/ exports NAME.onnx at build time and its ctest entries write NAME.pocket; ctest may
// run a unit test first, so when NAME.pocket is not there yet the unit test converts NAME.onnx
// itself, in process (the same converter, default options), into a temporary file.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#ifdef POCKET_UNIT_HAVE_CONVERTER
#include "converter/convert.h"
#endif

namespace pocket::testing {

// $POCKET_FIXTURE_DIR, else <build>/fixtures next to this binary's folder (<build>/tests/...).
inline std::string unit_fixture_dir() {
  if (const char* env = std::getenv("POCKET_FIXTURE_DIR"); env && *env) return env;
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string exe(buf, static_cast<size_t>(n));
  for (int up = 0; up < 2; ++up) {
    const size_t slash = exe.rfind('/');
    if (slash == std::string::npos) return "";
    exe.resize(slash);
  }
  return exe + "/fixtures";
}

// DIR/NAME.pocket, or when it is not there (yet), DIR/NAME.onnx converted in process into a
// temporary file (once per process); "" with *why set when neither works.
inline std::string pocket_or_converted(const std::string& dir, const std::string& name, std::string* why) {
  const std::string pocket = dir + "/" + name + ".pocket";
  if (std::ifstream(pocket).good()) return pocket;
  const std::string onnx = dir + "/" + name + ".onnx";
  if (!std::ifstream(onnx).good()) {
    if (why) *why = "neither " + pocket + " nor " + onnx + " exists (fixtures are exported at build time; or set POCKET_FIXTURE_DIR)";
    return "";
  }
#ifdef POCKET_UNIT_HAVE_CONVERTER
  static std::mutex mu;
  static std::map<std::string, std::string> converted;  // onnx path -> temporary .pocket
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = converted.find(onnx); it != converted.end()) return it->second;
  converter::ConvertReport report;
  auto bytes = converter::convert_onnx_file(onnx, converter::ConvertOptions{}, &report);
  if (!bytes.ok()) {
    if (why) *why = "converting " + onnx + ": " + bytes.status().message();
    return "";
  }
  const std::string out = (std::filesystem::temp_directory_path() /
                           ("pocket-unit-" + std::to_string(getpid()) + "-" + std::to_string(converted.size()) + "-" +
                            name + ".pocket")).string();
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.value().data()), static_cast<std::streamsize>(bytes.value().size()));
  if (!f.good()) {
    if (why) *why = "cannot write " + out;
    return "";
  }
  f.close();
  converted[onnx] = out;
  // Removed at exit: one file per converted model and process.
  static const bool registered = [] {
    std::atexit([] {
      for (const auto& [n, p] : converted) std::remove(p.c_str());
    });
    return true;
  }();
  (void)registered;
  return out;
#else
  if (why) *why = pocket + " does not exist and this build has no converter to make it from " + onnx;
  return "";
#endif
}

// The build's torchvision fixture NAME (tests/models/).
inline std::string fixture_pocket(const std::string& name, std::string* why) {
  return pocket_or_converted(unit_fixture_dir(), name, why);
}

}  // namespace pocket::testing
