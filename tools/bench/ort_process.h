// ONNX Runtime in a helper process, for pocket-bench --compare-onnx: runs
// `node scripts/ort_bench.mjs MODEL.onnx --serve ...` and drives it one command at a time, so the
// two engines can alternate rounds in one run on the same machine state.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace pocket::tools {

struct OrtOptions {
  std::string onnx_path;
  std::string script;     // scripts/ort_bench.mjs; empty: $POCKET_ORT_BENCH, else the source tree's
  int threads = 1;
  std::vector<std::pair<std::string, std::string>> inputs;  // name -> .npy file
};

class OrtProcess {
 public:
  OrtProcess() = default;
  ~OrtProcess() { stop(); }
  OrtProcess(const OrtProcess&) = delete;
  OrtProcess& operator=(const OrtProcess&) = delete;

  // Starts node and waits until the ORT session exists. Errors say what is missing and which
  // script installs it (node not on PATH, onnxruntime-node not installed, model rejected, ...).
  bool start(const OrtOptions& options, const std::string& work_dir, std::string* error);
  // `warmup` untimed runs, then `iterations` timed ones (milliseconds appended to times).
  bool run(int warmup, int iterations, std::vector<double>* times, std::string* error);
  // One run; every output written to dir/<sanitised name>.npy; names of the outputs.
  bool dump(const std::string& dir, std::vector<std::string>* names, std::string* error);
  void stop();

  const std::string& version() const { return version_; }
  double init_ms() const { return init_ms_; }

 private:
  bool command(const std::string& line, std::string* reply, std::string* error);
  bool read_line(std::string* line);
  std::string child_error();

  pid_t pid_ = -1;
  int to_child_ = -1;
  std::FILE* from_child_ = nullptr;
  std::string stderr_path_;
  std::string version_;
  double init_ms_ = 0;
};

// The script's default location: $POCKET_ORT_BENCH, else <source tree>/scripts/ort_bench.mjs.
std::string default_ort_script();

}  // namespace pocket::tools
