// pocket-run: runs a .pocket model once on .npy inputs and writes every output as .npy.
// Uses only the public C++ API (pocket/pocket.hpp).
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pocket/pocket.hpp"
#include "tools/common/args.h"
#include "tools/common/npy.h"
#include "tools/common/random_fill.h"
#include "tools/common/tool_util.h"

namespace {

using pocket::api::shape_str;
using pocket::tools::report_error;

constexpr const char* kTool = "pocket-run";

std::string describe(const pocket::api::TensorInfo& t) {
  return "'" + t.name + "' " + pocket::api::dtype_name(t.dtype) + " " + shape_str(t.shape);
}

// A few leading values, for a quick look when outputs are not written.
std::string preview(const pocket::api::TensorInfo& t, const void* data) {
  const int64_t n = std::min<int64_t>(t.elements(), 6);
  std::string s;
  char buf[64];
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case POCKET_F32: std::snprintf(buf, sizeof buf, "%.6g", static_cast<const float*>(data)[i]); break;
      case POCKET_I64: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(static_cast<const int64_t*>(data)[i])); break;
      case POCKET_I32: std::snprintf(buf, sizeof buf, "%d", static_cast<const int32_t*>(data)[i]); break;
      case POCKET_U8: case POCKET_BOOL: std::snprintf(buf, sizeof buf, "%u", static_cast<const uint8_t*>(data)[i]); break;
      case POCKET_I8: std::snprintf(buf, sizeof buf, "%d", static_cast<const int8_t*>(data)[i]); break;
      default: return "";
    }
    if (i) s += ' ';
    s += buf;
  }
  if (t.elements() > n) s += " ...";
  return s;
}

}  // namespace

static int tool_main(int argc, char** argv) {
  std::vector<std::string> model_path, input_specs, shape_specs;
  std::string output_dir;
  int64_t threads = 1;
  bool resize = false, tune = false, backend_fp16 = false, backend_fp16_arith = false;
  std::string tuning_file, backend = "cpu";
  pocket::tools::ArgParser args(
      kTool, "MODEL.pocket --input NAME=FILE.npy ... [--output-dir DIR] [--threads N] [--resize] [--input-shape NAME=DIMS ...]\n"
      "       [--tune] [--tuning-file FILE] [--backend cpu|vulkan|auto] [--backend-fp16] [--backend-fp16-arith]",
      "Runs the model once on the given inputs and writes each output to DIR/<output name>.npy\n"
      "(characters outside [A-Za-z0-9_.-] in the name become '_'). Inputs are .npy files (float32,\n"
      "float16, int64, int32, int8, uint8, bool; little-endian, C order) whose dtype and shape must\n"
      "match the model's input.");
  args.positional("MODEL.pocket", &model_path, 1, false, "the model to run");
  args.repeated("--input", "NAME=FILE", &input_specs, "value of input NAME (repeat for every input)");
  args.option("--output-dir", "DIR", &output_dir, "write outputs here (created if missing); without it, only a summary");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  args.flag("--resize", &resize, "re-plan the model for inputs whose shape differs (symbolic dims, other image sizes)");
  args.repeated("--input-shape", "NAME=DIMS", &shape_specs,
                "prepare the session with input NAME of this shape, e.g. input_ids=1x128 (symbolic dims)");
  args.flag("--tune", &tune, "time every kernel variant of ops that have several, keep the fastest");
  args.option("--tuning-file", "FILE", &tuning_file,
              "read kernel choices from FILE (e.g. MODEL.pocket.tune); with --tune, write them there");
  args.option("--backend", "NAME", &backend,
              "where nodes run: cpu (default), vulkan (GPU, or a CPU Vulkan driver when there is no GPU), auto "
              "(Vulkan on a GPU when it takes at least half the FLOPs); the pipeline cache goes to MODEL.pocket.vkcache");
  args.flag("--backend-fp16", &backend_fp16, "fp16 storage on the backend where the device can");
  args.flag("--backend-fp16-arith", &backend_fp16_arith,
            "fp16 storage and fp16 arithmetic (conv, MatMul/Gemm, attention scores) where the device can");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }
  if (backend != "cpu" && backend != "vulkan" && backend != "auto")
    return report_error(kTool, "--backend must be cpu, vulkan or auto, got '" + backend + "'");
  std::vector<pocket::tools::InputAssignment> assignments;
  std::string error;
  if (!pocket::tools::parse_input_assignments(input_specs, &assignments, &error)) return report_error(kTool, error);

  pocket::api::Model model;
  const double t_load = pocket::tools::now_ms();
  if (auto st = model.load(model_path[0]); !st.ok()) return report_error(kTool, "cannot load model: " + st.message);
  pocket::api::Session session;
  pocket::api::SessionOptions options;
  options.num_threads = static_cast<int>(threads);
  options.tune = tune;
  options.tuning_file = tuning_file;
  options.backend = backend;
  options.backend_fp16 = backend_fp16;
  options.backend_fp16_arithmetic = backend_fp16_arith;
  if (backend != "cpu") options.pipeline_cache_file = model_path[0] + ".vkcache";
  std::vector<std::pair<std::string, std::vector<int64_t>>> given_shapes;
  for (const std::string& spec : shape_specs) {
    std::string name;
    std::vector<int64_t> dims;
    if (!pocket::tools::parse_input_shape(spec, &name, &dims, &error)) return report_error(kTool, error);
    given_shapes.emplace_back(name, dims);
  }
  if (auto st = session.create(model, options); !st.ok())
    return report_error(kTool, "cannot prepare model '" + model_path[0] + "': " + st.message);
  for (const std::string& note : session.notices()) std::fprintf(stderr, "%s: note: %s\n", kTool, note.c_str());
  if (backend != "cpu") {
    // The decision line of the partition summary: what runs where, and why.
    const std::string summary = session.partition_summary();
    const size_t at = summary.find("decision: ");
    const size_t end = at == std::string::npos ? at : summary.find('\n', at);
    if (at != std::string::npos) std::printf("%s: backend %s\n", kTool, summary.substr(at, end - at).c_str());
  }
  for (const auto& [name, dims] : given_shapes) {
    if (auto st = session.resize_input(name, dims); !st.ok())
      return report_error(kTool, "--input-shape " + name + ": " + st.message);
  }
  const double load_ms = pocket::tools::now_ms() - t_load;

  // Every given name must be an input, and every input must be given.
  const std::vector<pocket::api::TensorInfo> inputs = session.inputs();
  std::map<std::string, const pocket::tools::InputAssignment*> given;
  for (const auto& a : assignments) {
    bool known = false;
    for (const auto& in : inputs) known |= in.name == a.name;
    if (!known) {
      std::string names;
      for (const auto& in : inputs) names += (names.empty() ? "" : ", ") + describe(in);
      return report_error(kTool, "model has no input '" + a.name + "' (inputs: " + names + ")");
    }
    given[a.name] = &a;
  }
  std::string missing;
  for (const auto& in : inputs)
    if (!given.count(in.name)) missing += (missing.empty() ? "" : ", ") + describe(in);
  if (!missing.empty()) return report_error(kTool, "missing inputs (give each with --input NAME=FILE.npy): " + missing);

  std::map<std::string, pocket::tools::NpyArray> arrays;
  for (const auto& in : inputs) {
    if (!pocket::tools::read_npy(given[in.name]->path, &arrays[in.name], &error))
      return report_error(kTool, "input '" + in.name + "': " + error);
  }
  // Resizing re-plans the session and drops input contents, so resize everything first.
  if (resize) {
    for (const auto& in : inputs) {
      const auto& a = arrays[in.name];
      if (a.shape == in.shape) continue;
      if (auto st = session.resize_input(in.name, a.shape); !st.ok())
        return report_error(kTool, "cannot resize input '" + in.name + "' to " + shape_str(a.shape) + ": " + st.message);
    }
  }
  for (const auto& in : inputs) {
    const auto& a = arrays[in.name];
    if (auto st = session.set_input(in.name, a.dtype, a.shape, a.data.data()); !st.ok()) {
      std::string hint = !resize && a.dtype == in.dtype && a.shape.size() == in.shape.size() && a.shape != in.shape
                             ? " (--resize re-plans the model for this shape)" : "";
      return report_error(kTool, st.message + hint);
    }
  }

  const double t_run = pocket::tools::now_ms();
  if (auto st = session.run(); !st.ok()) return report_error(kTool, "run failed: " + st.message);
  const double run_ms = pocket::tools::now_ms() - t_run;

  if (!output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(output_dir, ec);
    if (ec || !std::filesystem::is_directory(output_dir, ec))
      return report_error(kTool, "cannot create output directory '" + output_dir + "'" + (ec ? ": " + ec.message() : ""));
  }
  std::printf("%s: %s, %lld thread%s, load+prepare %.2f ms, run %.3f ms\n", kTool, model_path[0].c_str(),
              static_cast<long long>(threads), threads == 1 ? "" : "s", load_ms, run_ms);
  std::set<std::string> used_names;
  for (size_t i = 0; i < session.num_outputs(); ++i) {
    pocket::api::TensorInfo out;
    if (auto st = session.output_info(i, &out); !st.ok()) return report_error(kTool, st.message);
    const void* data = session.output_data(i);
    if (!data && out.bytes) return report_error(kTool, "output '" + out.name + "' has no data");
    if (output_dir.empty()) {
      std::printf("  %-24s %-8s %-18s %s\n", out.name.c_str(), pocket::api::dtype_name(out.dtype),
                  shape_str(out.shape).c_str(), preview(out, data).c_str());
      continue;
    }
    // Distinct outputs may sanitise to one name: keep every file by numbering the later ones.
    std::string base = pocket::tools::sanitize_file_name(out.name), file = base;
    for (int k = 1; used_names.count(file); ++k) file = base + "_" + std::to_string(k);
    used_names.insert(file);
    const std::string path = (std::filesystem::path(output_dir) / (file + ".npy")).string();
    if (!pocket::tools::write_npy(path, out.dtype, out.shape, data, out.bytes, &error))
      return report_error(kTool, "output '" + out.name + "': " + error);
    std::printf("  %-24s %-8s %-18s -> %s\n", out.name.c_str(), pocket::api::dtype_name(out.dtype),
                shape_str(out.shape).c_str(), path.c_str());
  }
  return 0;
}

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return tool_main(argc, argv); });
}
