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

// Path of NAME.pocket, or "" with *why set (no fixtures in this build, no converter).
inline std::string fixture_pocket(const std::string& name, std::string* why) {
  const std::string dir = unit_fixture_dir();
  const std::string pocket = dir + "/" + name + ".pocket";
  if (std::ifstream(pocket).good()) return pocket;
  const std::string onnx = dir + "/" + name + ".onnx";
  if (!std::ifstream(onnx).good()) {
    if (why) *why = "neither " + pocket + " nor " + onnx + " exists (fixtures are exported at build time; or set POCKET_FIXTURE_DIR)";
    return "";
  }
#ifdef POCKET_UNIT_HAVE_CONVERTER
  static std::mutex mu;
  static std::map<std::string, std::string> converted;  // name -> temporary .pocket
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = converted.find(name); it != converted.end()) return it->second;
  converter::ConvertReport report;
  auto bytes = converter::convert_onnx_file(onnx, converter::ConvertOptions{}, &report);
  if (!bytes.ok()) {
    if (why) *why = "converting " + onnx + ": " + bytes.status().message();
    return "";
  }
  const std::string out = (std::filesystem::temp_directory_path() /
                           ("pocket-unit-" + std::to_string(getpid()) + "-" + name + ".pocket")).string();
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.value().data()), static_cast<std::streamsize>(bytes.value().size()));
  if (!f.good()) {
    if (why) *why = "cannot write " + out;
    return "";
  }
  f.close();
  converted[name] = out;
  // Removed at exit: one small file per converted model and process.
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

}  // namespace pocket::testing
