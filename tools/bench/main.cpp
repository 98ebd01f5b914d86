// pocket-bench: whole-model latency and memory of a .pocket model.
// Talks to engine/ directly (Model, Session) rather than the C API because it reports what only
// the engine exposes: the memory plan's lower bound and the per-op profile.
#include <pthread.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "tools/bench/ort_process.h"
#include "tools/bench/profile.h"
#include "tools/bench/spinner.h"
#include "tools/common/args.h"
#include "tools/common/npy.h"
#include "tools/common/random_fill.h"
#include "tools/common/stats.h"
#include "tools/common/tool_util.h"

namespace {

using pocket::tools::report_error;
constexpr const char* kTool = "pocket-bench";

// Milliseconds with enough digits for both big models and microsecond-scale ones.
std::string f3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, v != 0 && v < 0.1 ? "%.3g" : "%.4f", v);
  return buf;
}

std::string json_ms(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string mib(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && std::tolower(static_cast<unsigned char>(hay[i + k])) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

// Rows of the table an integer graph input indexes: the input (possibly through Cast, Reshape,
// Unsqueeze, Squeeze, Flatten or Identity) is the indices operand of a Gather whose data is a
// constant of static first dim (an embedding). 0 when there is no such Gather.
int64_t gather_rows(const pocket::Model& model, int32_t tensor) {
  const auto& g = model.graph();
  if (!g.nodes() || !g.tensors()) return 0;
  std::vector<int32_t> frontier{tensor};
  int64_t rows = 0;
  for (int depth = 0; depth < 4 && !frontier.empty(); ++depth) {
    std::vector<int32_t> next;
    for (const auto* node : *g.nodes()) {
      if (!node->inputs() || !node->outputs()) continue;
      for (int32_t t : frontier) {
        const auto& in = *node->inputs();
        const bool is_index = node->op() == pocket::fb::OpType::Gather && in.size() >= 2 && in[1] == t;
        if (is_index && in[0] >= 0 && static_cast<uint32_t>(in[0]) < g.tensors()->size()) {
          const auto* data = g.tensors()->Get(static_cast<uint32_t>(in[0]));
          if (data->has_data() && data->shape() && data->shape()->size() >= 1 && data->shape()->Get(0) > 0) {
            const int64_t r = data->shape()->Get(0);
            rows = rows == 0 ? r : std::min(rows, r);
          }
          continue;
        }
        const auto op = node->op();
        const bool passes = op == pocket::fb::OpType::Cast || op == pocket::fb::OpType::Reshape ||
                            op == pocket::fb::OpType::Unsqueeze || op == pocket::fb::OpType::Squeeze ||
                            op == pocket::fb::OpType::Flatten || op == pocket::fb::OpType::Identity;
        if (passes && in.size() >= 1 && in[0] == t && node->outputs()->size() >= 1) next.push_back(node->outputs()->Get(0));
      }
    }
    frontier = std::move(next);
  }
  return rows;
}

// Range for random values of one input, first match wins:
// 1. metadata property "input_range.<name>" = "lo,hi";
// 2. integer inputs named like a mask ("attention_mask"): ones; like a position ("position"): 0;
// 3. integer inputs: [0, vocab_size) from the metadata property "vocab_size";
// 4. integer inputs that index an embedding (Gather of a constant table): [0, rows), capped by the
//    tokenizer vocabulary's size when the model carries one;
// 5. the dtype's default.
bool random_range(const pocket::Model& model, const pocket::Session& session, size_t input, double* lo, double* hi,
                  std::string* error) {
  const pocket::Value& v = const_cast<pocket::Session&>(session).input(input);
  const auto dtype = static_cast<pocket_dtype>(static_cast<int>(v.dtype));
  pocket::tools::default_random_range(dtype, lo, hi);
  const std::string key = "input_range." + std::string(v.name);
  const std::string range = model.property(key);
  if (!range.empty()) {
    char* end = nullptr;
    double a = std::strtod(range.c_str(), &end);
    if (end && *end == ',') {
      double b = std::strtod(end + 1, &end);
      if (end && *end == '\0' && a < b) {
        *lo = a;
        *hi = b;
        return true;
      }
    }
    *error = "metadata property '" + key + "' = '" + range + "' is not 'lo,hi'";
    return false;
  }
  const bool integer = dtype == POCKET_I64 || dtype == POCKET_I32;
  if (!integer) return true;
  if (contains_ci(v.name, "mask")) {
    *lo = 1;
    *hi = 2;
    return true;
  }
  if (contains_ci(v.name, "position")) {
    *lo = 0;
    *hi = 1;
    return true;
  }
  const std::string vocab = model.property("vocab_size");
  if (!vocab.empty()) {
    int64_t n = 0;
    if (!pocket::tools::parse_int(vocab, 1, INT64_MAX, &n, error)) {
      *error = "metadata property 'vocab_size': " + *error;
      return false;
    }
    *lo = 0;
    *hi = static_cast<double>(n);
    return true;
  }
  int64_t rows = 0;
  const auto* gin = model.graph().inputs();
  if (gin && input < gin->size()) rows = gather_rows(model, gin->Get(static_cast<uint32_t>(input)));
  if (rows > 0) {
    const auto* md = model.metadata();
    if (md && md->tokenizer() && md->tokenizer()->vocab() && md->tokenizer()->vocab()->size() > 0)
      rows = std::min<int64_t>(rows, md->tokenizer()->vocab()->size());
    *lo = 0;
    *hi = static_cast<double>(rows);
  }
  return true;
}

// A temporary folder removed with everything in it when the object dies.
struct TempDir {
  std::string path;
  ~TempDir() {
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  bool create(std::string* error) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/pocket-bench-XXXXXX";
    if (!mkdtemp(templ.data())) {
      *error = "cannot create a temporary folder " + templ;
      return false;
    }
    path = templ;
    return true;
  }
};

// Largest |a - b| over float32 outputs of equal size; NaN when they cannot be compared.
double max_abs_diff(const pocket::Value& ours, const pocket::tools::NpyArray& theirs) {
  if (ours.dtype != pocket::DType::F32 || theirs.dtype != POCKET_F32 || ours.elements() != theirs.elements())
    return std::nan("");
  const float* a = ours.as<float>();
  const float* b = reinterpret_cast<const float*>(theirs.data.data());
  double m = 0;
  for (int64_t i = 0; i < ours.elements(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

std::string init_table(const pocket::InitTimes& t) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "init breakdown setup %.3f, prepare %.3f (shape inference, kernel choice, weight packing), tune %.3f,\n"
                "               backend %.3f (partition, subgraphs prepared on the backend), plan %.3f, arena %.3f, bind %.3f;\n"
                "               total %.3f ms\n",
                t.setup_ms, t.prepare_ms, t.tune_ms, t.backend_ms, t.plan_ms, t.arena_ms, t.bind_ms, t.total_ms);
  out += line;
  std::snprintf(line, sizeof line, "  %-36s %6s %11s %9s\n", "op type and kernel", "count", "prepare ms", "bind ms");
  out += line;
  for (const auto& p : t.per_op) {
    std::snprintf(line, sizeof line, "  %-36s %6d %11.3f %9.3f\n", p.op.c_str(), p.count, p.prepare_ms, p.bind_ms);
    out += line;
  }
  return out;
}

std::string choices_table(const std::vector<pocket::KernelChoice>& choices) {
  std::string out;
  char line[256];
  int tuned = 0, from_file = 0;
  for (const auto& c : choices) {
    tuned += c.source == pocket::ChoiceSource::kTuned;
    from_file += c.source == pocket::ChoiceSource::kFile;
  }
  std::snprintf(line, sizeof line, "kernel choices %zu ops with alternatives: %d tuned, %d from the tuning file, %zu heuristic\n",
                choices.size(), tuned, from_file, choices.size() - tuned - from_file);
  out += line;
  for (const auto& c : choices) {
    std::string name = c.name.size() > 36 ? "..." + c.name.substr(c.name.size() - 33) : c.name;
    std::snprintf(line, sizeof line, "  %-4d %-10s %-36s %-9s", c.node, c.op.c_str(), name.c_str(),
                  pocket::choice_source_name(c.source));
    out += line;
    for (size_t i = 0; i < c.variants.size(); ++i) {
      out += static_cast<int>(i) == c.chosen ? "  *" : "  ";
      out += c.variants[i];
      if (i < c.median_ms.size()) {
        std::snprintf(line, sizeof line, c.median_ms[i] < 0 ? " -" : " %.4g", c.median_ms[i]);
        out += line;
      }
    }
    out += "\n";
  }
  if (tuned) out += "  (* chosen; times are median ms per run of the op alone)\n";
  return out;
}

std::string choices_json(const std::vector<pocket::KernelChoice>& choices) {
  std::string out = "[";
  for (size_t k = 0; k < choices.size(); ++k) {
    const auto& c = choices[k];
    if (k) out += ',';
    out += "{\"node\":" + std::to_string(c.node) + ",\"op\":" + pocket::tools::json_string(c.op) +
           ",\"name\":" + pocket::tools::json_string(c.name) + ",\"source\":\"" + pocket::choice_source_name(c.source) +
           "\",\"chosen\":" + pocket::tools::json_string(c.variants[c.chosen]) + ",\"variants\":[";
    for (size_t i = 0; i < c.variants.size(); ++i) {
      if (i) out += ',';
      out += pocket::tools::json_string(c.variants[i]);
    }
    out += "]";
    if (!c.median_ms.empty()) {
      out += ",\"median_ms\":[";
      for (size_t i = 0; i < c.median_ms.size(); ++i) {
        if (i) out += ',';
        out += c.median_ms[i] < 0 ? std::string("null") : json_ms(c.median_ms[i]);
      }
      out += "]";
    }
    out += "}";
  }
  return out + "]";
}

// "8000000", "512K", "64M", "1G" (binary multiples; "KiB", "MB" and the like accepted too).
bool parse_byte_count(const std::string& s, size_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
  }
  if (i == 0) return false;
  std::string unit;
  for (; i < s.size(); ++i) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KIB") shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB") shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB") shift = 30;
  else return false;
  if (v > (UINT64_MAX >> shift) || (v << shift) > SIZE_MAX) return false;
  *out = static_cast<size_t>(v << shift);
  return true;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 where there is none.
uint64_t proc_status_bytes(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + key.size(), nullptr, 10) * 1024;
  return 0;
}

// Resident bytes of the mappings of `path` (the model file), from /proc/self/smaps; 0 when the
// file is not mapped (or there is no smaps).
uint64_t mapped_file_resident_bytes(const std::string& path) {
  std::error_code ec;
  const std::string canon = std::filesystem::canonical(path, ec).string();
  if (ec) return 0;
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  uint64_t total = 0;
  while (std::getline(f, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        line.find(':') > line.find(' ')) {  // a mapping's header line: "start-end perms offset dev inode path"
      const size_t slash = line.find('/');
      in_file = slash != std::string::npos && line.compare(slash, std::string::npos, canon) == 0;
      continue;
    }
    if (in_file && line.rfind("Rss:", 0) == 0) total += std::strtoull(line.c_str() + 4, nullptr, 10) * 1024;
  }
  return total;
}

// The default stack size of a new thread (pthreadpool's workers use it): reserved address space,
// resident only as far as touched.
size_t default_thread_stack_bytes() {
  pthread_attr_t attr;
  size_t size = 0;
  if (pthread_attr_init(&attr) != 0) return 0;
  if (pthread_attr_getstacksize(&attr, &size) != 0) size = 0;
  pthread_attr_destroy(&attr);
  return size;
}

}  // namespace

static int tool_main(int argc, char** argv) {
  std::vector<std::string> model_path, input_specs, shape_specs;
  int64_t threads = 1, warmup = 5, iterations = 50, seed = 0, rounds = 5;
  bool json = false, profile = false, resize = false, tune = false, verbose_init = false, spinner_on = false;
  bool fixed_threads = false, backend_fp16 = false, backend_fp16_arith = false;
  std::string trace_path, tuning_file, onnx_path, ort_script, budget_spec, device_budget_spec, backend = "cpu";
  pocket::tools::ArgParser args(
      kTool,
      "MODEL.pocket [--input NAME=FILE.npy ...] [--input-shape NAME=1x128 ...] [--threads N] [--warmup N] [--iterations N] [--json] [--profile] "
      "[--trace FILE.json]\n"
      "       [--tune] [--tuning-file FILE] [--verbose-init] [--spinner] [--compare-onnx FILE.onnx [--rounds N]]\n"
      "       [--memory-budget BYTES] [--backend cpu|vulkan|auto [--backend-fp16|--backend-fp16-arith] [--device-memory-budget BYTES]]",
      "Measures load, session creation (init), first run and steady-state latency (mean, std, min, p50,\n"
      "p90, p99, runs/s), the activation arena (and its lower bound) and peak RSS. Inputs not given are\n"
      "random (seeded): floats in [-1, 1), uint8 in [0, 256); int64/int32 inputs named like a mask\n"
      "('attention_mask') are ones and like a position ('position') 0, token ids are in [0, vocab_size)\n"
      "when the model's metadata has a 'vocab_size' property, else in [0, rows) when the input indexes\n"
      "an embedding table (Gather; capped by the tokenizer vocabulary's size), else in [0, 2).\n"
      "Metadata property 'input_range.NAME' = 'lo,hi' overrides the range of input NAME.\n"
      "--input-shape NAME=1x128 sets an input's shape before the session is prepared (symbolic dims\n"
      "such as batch and sequence length are bound by name across inputs).\n"
      "\n"
      "--compare-onnx runs ONNX Runtime (onnxruntime-node, installed by scripts/ort_install.sh; needs\n"
      "node on PATH) on the ONNX file with the same inputs and thread count, alternating with Pocket:\n"
      "--rounds rounds of (Pocket: iterations/rounds runs, ORT: the same), after --warmup runs of each.\n"
      "It prints both medians, their ratio pocket/ort (< 1: Pocket is faster) and the largest output\n"
      "difference between the engines.\n"
      "\n"
      "--spinner starts one busy-looping process (a plain counting loop, no affinity set) before the\n"
      "model loads and stops it at exit: with --threads 2 on a 2-core machine, one worker's core is\n"
      "busy, as when another app runs. bench/busy_core.sh compares the four cases.\n"
      "\n"
      "Memory: the session's plan (Session::memory(): arena, packed weights, converted constants, known\n"
      "values, XNNPACK's heap, op buffers, session tables) and a predicted peak RSS, the RSS before the\n"
      "model was loaded + the model file's resident pages + the plan's total, beside the measured peak\n"
      "(VmHWM). --memory-budget makes session creation (and --input-shape / --resize) fail when the\n"
      "plan needs more than BYTES (suffixes K, M, G: binary multiples).");
  args.positional("MODEL.pocket", &model_path, 1, false, "the model to benchmark");
  args.repeated("--input", "NAME=FILE", &input_specs, "value of input NAME (others are random)");
  args.repeated("--input-shape", "NAME=DIMS", &shape_specs, "shape of input NAME, e.g. input_ids=1x128 (symbolic dims)");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  args.option_int("--warmup", "N", 0, 1000000, &warmup, "untimed runs after the first (default 5)");
  args.option_int("--iterations", "N", 1, 10000000, &iterations, "timed runs (default 50)");
  args.option_int("--seed", "N", 0, INT64_MAX, &seed, "seed of the random inputs (default 0)");
  args.flag("--json", &json, "print one JSON object instead of text");
  args.flag("--profile", &profile, "per-op table (op, node, output shape, kernel, mean time, share, GFLOP/s)");
  args.option("--trace", "FILE.json", &trace_path, "write a Chrome trace (chrome://tracing) of one profiled run");
  args.flag("--resize", &resize, "re-plan the model for --input arrays whose shape differs");
  args.flag("--tune", &tune, "time every kernel variant of ops that have several, keep the fastest (printed)");
  args.option("--tuning-file", "FILE", &tuning_file,
              "read kernel choices from FILE (e.g. MODEL.pocket.tune); with --tune, write them there");
  args.flag("--verbose-init", &verbose_init, "where session creation spent its time (per phase and op type)");
  args.flag("--spinner", &spinner_on, "keep one other core busy with a spinning process while benchmarking");
  args.flag("--fixed-threads", &fixed_threads,
            "always use the thread pool (no fallback to the calling thread when pooled runs are slower)");
  args.option("--compare-onnx", "FILE.onnx", &onnx_path, "also run ONNX Runtime on FILE.onnx, alternating (see above)");
  args.option_int("--rounds", "N", 1, 1000, &rounds, "alternating rounds with --compare-onnx (default 5)");
  args.option("--ort-script", "FILE", &ort_script, "ONNX Runtime driver (default: scripts/ort_bench.mjs of the source tree)");
  args.option("--memory-budget", "BYTES", &budget_spec, "fail when the session's memory plan needs more (e.g. 64M)");
  args.option("--backend", "NAME", &backend,
              "where nodes run: cpu (default), vulkan (GPU, or a CPU Vulkan driver when there is no GPU), auto "
              "(Vulkan on a GPU when it takes at least half the FLOPs); prints the partition; pipeline cache "
              "MODEL.pocket.vkcache");
  args.flag("--backend-fp16", &backend_fp16, "fp16 storage on the backend where the device can");
  args.option("--device-memory-budget", "BYTES", &device_budget_spec,
              "the most device memory the backend may allocate (e.g. 64M); a subgraph over it stays on the CPU");
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

  size_t memory_budget = 0;
  if (!budget_spec.empty() && (!parse_byte_count(budget_spec, &memory_budget) || memory_budget == 0))
    return report_error(kTool, "--memory-budget: '" + budget_spec + "' is not a byte count > 0 (e.g. 8000000, 512K, 64M, 1G)");
  size_t device_memory_budget = 0;
  if (!device_budget_spec.empty() && (!parse_byte_count(device_budget_spec, &device_memory_budget) || device_memory_budget == 0))
    return report_error(kTool, "--device-memory-budget: '" + device_budget_spec + "' is not a byte count > 0 (e.g. 8000000, 512K, 64M, 1G)");
  const uint64_t baseline_rss = proc_status_bytes("VmRSS");

  const bool compare = !onnx_path.empty();
  if (compare && iterations < rounds) return report_error(kTool, "--iterations must be at least --rounds");
  // Before any thread exists: the spinners are forked processes.
  pocket::tools::Spinner spinner;
  if (spinner_on && !spinner.start(1, &error)) return report_error(kTool, error);

  double t0 = pocket::tools::now_ms();
  auto model = pocket::Model::load_file(model_path[0]);
  if (!model.ok()) return report_error(kTool, "cannot load model: " + model.status().message());
  const double load_ms = pocket::tools::now_ms() - t0;

  pocket::SessionOptions options;
  options.num_threads = static_cast<int>(threads);
  options.tune = tune;
  options.tuning_file = tuning_file;
  options.adaptive_threads = !fixed_threads;
  options.memory_budget = memory_budget;
  options.device_memory_budget = device_memory_budget;
  options.backend = backend;
  options.backend_fp16 = backend_fp16;
  options.backend_fp16_arithmetic = backend_fp16_arith;
  if (backend != "cpu") options.pipeline_cache_file = model_path[0] + ".vkcache";
  std::vector<std::pair<std::string, pocket::Shape>> given_shapes;
  for (const std::string& spec : shape_specs) {
    std::string name;
    std::vector<int64_t> dims;
    if (!pocket::tools::parse_input_shape(spec, &name, &dims, &error)) return report_error(kTool, error);
    given_shapes.emplace_back(name, pocket::Shape(dims.begin(), dims.end()));
  }
  t0 = pocket::tools::now_ms();
  auto created = pocket::Session::create(model.value(), options);
  if (!created.ok())
    return report_error(kTool, "cannot prepare model '" + model_path[0] + "': " + created.status().message());
  double init_ms = pocket::tools::now_ms() - t0;
  pocket::Session& session = *created.value();
  // --input-shape: re-plan once per given input before any data goes in (counted as init).
  for (const auto& [name, shape] : given_shapes) {
    const int idx = session.find_input(name);
    if (idx < 0) return report_error(kTool, "--input-shape: model has no input '" + name + "'");
    if (session.input(static_cast<size_t>(idx)).shape == shape) continue;
    t0 = pocket::tools::now_ms();
    if (auto st = session.resize_input(name, shape); !st.ok())
      return report_error(kTool, "cannot resize input '" + name + "': " + st.message());
    init_ms += pocket::tools::now_ms() - t0;
  }
  for (const std::string& note : session.notices()) std::fprintf(stderr, "%s: note: %s\n", kTool, note.c_str());
  const pocket::InitTimes init_times = session.init_times();

  // Given inputs: read, resize if asked (that re-plans, so before any data goes in), then copy.
  std::map<std::string, pocket::tools::NpyArray> arrays;
  for (const auto& a : assignments) {
    if (session.find_input(a.name) < 0) {
      std::string names;
      for (size_t i = 0; i < session.num_inputs(); ++i)
        names += (names.empty() ? "'" : ", '") + std::string(session.input(i).name) + "'";
      return report_error(kTool, "model has no input '" + a.name + "' (inputs: " + names + ")");
    }
    if (!pocket::tools::read_npy(a.path, &arrays[a.name], &error))
      return report_error(kTool, "input '" + a.name + "': " + error);
  }
  if (resize) {
    t0 = pocket::tools::now_ms();
    for (const auto& [name, a] : arrays) {
      if (a.shape == session.input(session.find_input(name)).shape) continue;
      if (auto st = session.resize_input(name, a.shape); !st.ok())
        return report_error(kTool, "cannot resize input '" + name + "': " + st.message());
    }
    init_ms += pocket::tools::now_ms() - t0;
  }
  for (const auto& [name, a] : arrays) {
    const auto dtype = static_cast<pocket::DType>(static_cast<int>(a.dtype));
    if (auto st = session.set_input(name, dtype, a.shape, a.data.data()); !st.ok()) return report_error(kTool, st.message());
  }
  for (size_t i = 0; i < session.num_inputs(); ++i) {
    pocket::Value& v = session.input(i);
    if (arrays.count(std::string(v.name))) continue;
    double lo, hi;
    if (!random_range(*model.value(), session, i, &lo, &hi, &error)) return report_error(kTool, error);
    const auto dtype = static_cast<pocket_dtype>(static_cast<int>(v.dtype));
    if (!pocket::tools::fill_random(dtype, static_cast<size_t>(v.elements()), static_cast<uint64_t>(seed) + i, lo, hi, v.data))
      return report_error(kTool, "cannot make random values for input '" + std::string(v.name) + "' of dtype " +
                                     pocket::dtype_name(v.dtype));
  }

  // ONNX Runtime gets the very same input values, through .npy files.
  TempDir tmp;
  pocket::tools::OrtProcess ort;
  if (compare) {
    if (!tmp.create(&error)) return report_error(kTool, error);
    pocket::tools::OrtOptions oo;
    oo.onnx_path = onnx_path;
    oo.script = ort_script;
    oo.threads = static_cast<int>(threads);
    for (size_t i = 0; i < session.num_inputs(); ++i) {
      const pocket::Value& v = session.input(i);
      const std::string file = tmp.path + "/input_" + std::to_string(i) + ".npy";
      if (!pocket::tools::write_npy(file, static_cast<pocket_dtype>(static_cast<int>(v.dtype)), v.shape, v.data, v.bytes(), &error))
        return report_error(kTool, error);
      oo.inputs.emplace_back(std::string(v.name), file);
    }
    if (!ort.start(oo, tmp.path, &error)) return report_error(kTool, error);
  }

  t0 = pocket::tools::now_ms();
  session.run();
  const double first_run_ms = pocket::tools::now_ms() - t0;
  if (!session.run_status().ok()) return report_error(kTool, "run failed: " + session.run_status().message());
  for (int64_t i = 0; i < warmup; ++i) session.run();
  std::vector<double> times, ort_times;
  times.reserve(static_cast<size_t>(iterations));
  if (compare && !ort.run(static_cast<int>(warmup) + 1, 0, &ort_times, &error)) return report_error(kTool, error);
  const int64_t n_rounds = compare ? rounds : 1;
  for (int64_t r = 0; r < n_rounds; ++r) {
    // Round r gets its share of the iterations; the shares add up to exactly --iterations.
    const int64_t n = iterations * (r + 1) / n_rounds - iterations * r / n_rounds;
    for (int64_t i = 0; i < n; ++i) {
      t0 = pocket::tools::now_ms();
      session.run();
      times.push_back(pocket::tools::now_ms() - t0);
    }
    if (compare && !ort.run(0, static_cast<int>(n), &ort_times, &error)) return report_error(kTool, error);
  }
  const pocket::tools::LatencyStats st = pocket::tools::compute_stats(times);
  const pocket::tools::LatencyStats ort_st = pocket::tools::compute_stats(ort_times);
  const int64_t single_runs = session.single_thread_runs();

  // Output agreement: the same inputs should give the same outputs, up to rounding.
  std::vector<std::pair<std::string, double>> diffs;
  if (compare) {
    std::vector<std::string> names;
    const std::string dir = tmp.path + "/ort_outputs";
    if (!ort.dump(dir, &names, &error)) return report_error(kTool, error);
    for (size_t i = 0; i < session.num_outputs(); ++i) {
      const pocket::Value& v = session.output(i);
      pocket::tools::NpyArray a;
      std::string why;
      const std::string file = dir + "/" + pocket::tools::sanitize_file_name(std::string(v.name)) + ".npy";
      diffs.emplace_back(std::string(v.name), pocket::tools::read_npy(file, &a, &why) ? max_abs_diff(v, a) : std::nan(""));
    }
    ort.stop();
  }
  spinner.stop();

  pocket::tools::Profile prof;
  const bool want_profile = profile || !trace_path.empty();
  if (want_profile) prof = pocket::tools::profile_session(session, static_cast<int>(std::min<int64_t>(iterations, 1000)));
  if (!trace_path.empty() && !pocket::tools::write_chrome_trace(prof, trace_path, &error)) return report_error(kTool, error);
  const uint64_t peak_rss = pocket::tools::peak_rss_bytes();
  const pocket::MemoryReport mem = session.memory();
  const uint64_t model_resident = mapped_file_resident_bytes(model_path[0]);
  // A CPU driver's device memory (lavapipe) is host memory: it is in the RSS, so in the prediction.
  const uint64_t host_device = session.partition().device_memory_is_host ? mem.device : 0;
  const uint64_t predicted_peak = baseline_rss + model_resident + mem.total() + host_device;
  const size_t stack_bytes = default_thread_stack_bytes();
  const int workers = session.num_threads() > 1 ? session.num_threads() - 1 : 0;
  const double runs_per_s = st.mean > 0 ? 1000.0 / st.mean : 0;

  if (json) {
    std::string o = "{";
    auto num = [&](const char* key, const std::string& v) { o += (o.size() > 1 ? "," : "") + std::string("\"") + key + "\":" + v; };
    num("model", pocket::tools::json_string(model_path[0]));
    num("engine", "\"pocket\"");
    num("threads", std::to_string(threads));
    num("warmup", std::to_string(warmup));
    num("iterations", std::to_string(iterations));
    num("load_ms", json_ms(load_ms));
    num("init_ms", json_ms(init_ms));
    num("first_run_ms", json_ms(first_run_ms));
    const pocket::PartitionReport& pr = session.partition();
    num("backend", pocket::tools::json_string(pr.backend));
    num("backend_requested", pocket::tools::json_string(pr.requested));
    num("backend_decision", pocket::tools::json_string(pr.decision));
    num("ops_offloaded", std::to_string(pr.ops_offloaded));
    num("ops_on_cpu", std::to_string(pr.ops_on_cpu));
    num("subgraphs", std::to_string(pr.subgraphs.size()));
    num("transfer_bytes_per_run", std::to_string(pr.transfer_bytes_per_run()));
    num("device_allocated_bytes", std::to_string(pr.device_allocated()));
    num("mean_ms", json_ms(st.mean));
    num("std_ms", json_ms(st.std));
    num("min_ms", json_ms(st.min));
    num("max_ms", json_ms(st.max));
    num("median_ms", json_ms(st.p50));
    num("p90_ms", json_ms(st.p90));
    num("p99_ms", json_ms(st.p99));
    num("runs_per_s", json_ms(runs_per_s));
    num("arena_bytes", std::to_string(session.arena_bytes()));
    num("arena_lower_bound_bytes", std::to_string(session.arena_lower_bound()));
    num("peak_rss_bytes", std::to_string(peak_rss));
    num("memory", "{\"arena\":" + std::to_string(mem.arena) + ",\"arena_lower_bound\":" + std::to_string(mem.arena_lower_bound) +
                      ",\"packed_weights\":" + std::to_string(mem.packed_weights) +
                      ",\"converted_constants\":" + std::to_string(mem.converted_constants) +
                      ",\"known_values\":" + std::to_string(mem.known_values) + ",\"xnnpack\":" + std::to_string(mem.xnnpack) +
                      ",\"op_private\":" + std::to_string(mem.op_private) +
                      ",\"session_overhead\":" + std::to_string(mem.session_overhead) +
                      ",\"total\":" + std::to_string(mem.total()) + ",\"model_file\":" + std::to_string(mem.model_file) +
                      ",\"budget\":" + std::to_string(memory_budget) + "}");
    num("baseline_rss_bytes", std::to_string(baseline_rss));
    num("model_resident_bytes", std::to_string(model_resident));
    num("predicted_peak_rss_bytes", std::to_string(predicted_peak));
    num("predicted_host_device_bytes", std::to_string(host_device));
    num("worker_threads", std::to_string(workers));
    num("thread_stack_reserved_bytes", std::to_string(stack_bytes));
    num("spinner", spinner_on ? "true" : "false");
    num("single_thread_runs", std::to_string(single_runs));
    if (verbose_init) {
      std::string b = "{\"setup_ms\":" + json_ms(init_times.setup_ms) + ",\"prepare_ms\":" + json_ms(init_times.prepare_ms) +
                      ",\"tune_ms\":" + json_ms(init_times.tune_ms) + ",\"plan_ms\":" + json_ms(init_times.plan_ms) +
                      ",\"arena_ms\":" + json_ms(init_times.arena_ms) + ",\"bind_ms\":" + json_ms(init_times.bind_ms) +
                      ",\"per_op\":[";
      for (size_t i = 0; i < init_times.per_op.size(); ++i) {
        const auto& p = init_times.per_op[i];
        if (i) b += ',';
        b += "{\"op\":" + pocket::tools::json_string(p.op) + ",\"count\":" +
             std::to_string(p.count) + ",\"prepare_ms\":" + json_ms(p.prepare_ms) + ",\"bind_ms\":" + json_ms(p.bind_ms) + "}";
      }
      num("init_breakdown", b + "]}");
    }
    if (tune || !tuning_file.empty() || verbose_init) num("kernel_choices", choices_json(session.kernel_choices()));
    if (compare) {
      num("ort_version", pocket::tools::json_string(ort.version()));
      num("ort_init_ms", json_ms(ort.init_ms()));
      num("ort_mean_ms", json_ms(ort_st.mean));
      num("ort_min_ms", json_ms(ort_st.min));
      num("ort_median_ms", json_ms(ort_st.p50));
      num("ort_p90_ms", json_ms(ort_st.p90));
      num("ratio_pocket_over_ort", json_ms(ort_st.p50 > 0 ? st.p50 / ort_st.p50 : 0));
      num("rounds", std::to_string(rounds));
      std::string d = "{";
      for (size_t i = 0; i < diffs.size(); ++i) {
        if (i) d += ',';
        d += pocket::tools::json_string(diffs[i].first) + ":" +
             (std::isnan(diffs[i].second) ? std::string("null") : json_ms(diffs[i].second));
      }
      num("output_max_abs_diff", d + "}");
    }
    if (want_profile) num("profile", pocket::tools::profile_json(prof));
    if (!trace_path.empty()) num("trace", pocket::tools::json_string(trace_path));
    std::printf("%s}\n", o.c_str());
    return 0;
  }
  std::printf("model          %s (%s)\n", model_path[0].c_str(), mib(model.value()->file_size()).c_str());
  std::printf("threads        %lld%s\n", static_cast<long long>(threads), spinner_on ? " (with a busy spinner process)" : "");
  std::printf("load           %s ms\n", f3(load_ms).c_str());
  std::printf("init           %s ms (session create: shapes, prepare, memory plan)\n", f3(init_ms).c_str());
  std::printf("backend        %s (requested %s)\n", session.partition().backend.c_str(), backend.c_str());
  std::printf("first run      %s ms\n", f3(first_run_ms).c_str());
  std::printf("runs           %lld timed after %lld warm-up\n", static_cast<long long>(iterations), static_cast<long long>(warmup));
  std::printf("mean           %s ms  (std %s)\n", f3(st.mean).c_str(), f3(st.std).c_str());
  std::printf("min            %s ms\n", f3(st.min).c_str());
  std::printf("p50 / p90 / p99  %s / %s / %s ms\n", f3(st.p50).c_str(), f3(st.p90).c_str(), f3(st.p99).c_str());
  std::printf("throughput     %.2f runs/s\n", runs_per_s);
  std::printf("arena          %zu bytes (%s), plan lower bound %zu bytes (%s)\n", session.arena_bytes(),
              mib(session.arena_bytes()).c_str(), session.arena_lower_bound(), mib(session.arena_lower_bound()).c_str());
  std::printf("memory plan    %s total: arena %s (lower bound %s), packed weights %s, converted constants %s,\n"
              "               known values %s, XNNPACK %s, op buffers %s, session tables %s\n",
              mib(mem.total()).c_str(), mib(mem.arena).c_str(), mib(mem.arena_lower_bound).c_str(),
              mib(mem.packed_weights).c_str(), mib(mem.converted_constants).c_str(), mib(mem.known_values).c_str(),
              mib(mem.xnnpack).c_str(), mib(mem.op_private).c_str(), mib(mem.session_overhead).c_str());
  if (mem.device)
    std::printf("device memory  %s allocated by the %s backend (not in the plan total; %s)\n", mib(mem.device).c_str(),
                session.partition().backend.c_str(),
                host_device ? "the device is a CPU driver, so it is host memory and in the predicted peak"
                            : "GPU memory, not in this process's RSS");
  if (memory_budget) std::printf("memory budget  %s (%zu bytes): the plan fits\n", mib(memory_budget).c_str(), memory_budget);
  std::printf("model file     %s mapped, shared by the model's sessions; %s resident after the runs\n",
              mib(mem.model_file).c_str(), mib(model_resident).c_str());
  std::printf("peak RSS       %llu bytes (%s)\n", static_cast<unsigned long long>(peak_rss), mib(peak_rss).c_str());
  const double off = predicted_peak ? (static_cast<double>(peak_rss) / static_cast<double>(predicted_peak) - 1) * 100 : 0;
  std::printf("predicted peak %s = RSS before loading %s + model resident %s + plan %s%s%s; measured %s (%+.1f%%)\n",
              mib(predicted_peak).c_str(), mib(baseline_rss).c_str(), mib(model_resident).c_str(), mib(mem.total()).c_str(),
              host_device ? " + device memory " : "", host_device ? mib(host_device).c_str() : "", mib(peak_rss).c_str(), off);
  if (host_device)
    std::printf("               (not predicted: the driver's own memory, e.g. lavapipe's LLVM compiler and its compiled\n"
                "               shaders, which the measured peak includes)\n");
  if (workers)
    std::printf("thread stacks  %d worker thread%s, %s of stack reserved each (address space, not heap; only touched\n"
                "               pages are resident, counted in the measured RSS, not in the plan)\n",
                workers, workers == 1 ? "" : "s", mib(stack_bytes).c_str());
  if (threads > 1 && single_runs > 0)
    std::printf("single-thread  %lld of %lld runs went to the calling thread alone (the pool was slower)\n",
                static_cast<long long>(single_runs), static_cast<long long>(1 + warmup + iterations));
  if (compare) {
    std::printf("\nonnxruntime    %s, %lld thread%s, init %s ms\n", ort.version().c_str(), static_cast<long long>(threads),
                threads == 1 ? "" : "s", f3(ort.init_ms()).c_str());
    std::printf("median         pocket %s ms, onnxruntime %s ms\n", f3(st.p50).c_str(), f3(ort_st.p50).c_str());
    std::printf("min            pocket %s ms, onnxruntime %s ms\n", f3(st.min).c_str(), f3(ort_st.min).c_str());
    std::printf("ratio          pocket/ort %.3f (median; < 1 means Pocket is faster), %lld alternating rounds\n",
                ort_st.p50 > 0 ? st.p50 / ort_st.p50 : 0.0, static_cast<long long>(rounds));
    for (const auto& [name, d] : diffs) {
      if (std::isnan(d)) std::printf("output         '%s': not comparable (dtype or size differs, or missing)\n", name.c_str());
      else std::printf("output         '%s': max |pocket - ort| = %.3g\n", name.c_str(), d);
    }
  }
  if (backend != "cpu") {
    // Ops per backend, transfers and their bytes per run, device memory, every op left on the CPU.
    std::printf("\npartition\n%s", session.partition_summary().c_str());
    std::printf("first run %s ms vs steady state %s ms (median): %s ms of first-run cost (pipelines, uploads, caches)\n",
                f3(first_run_ms).c_str(), f3(st.p50).c_str(), f3(first_run_ms - st.p50).c_str());
  }
  if (verbose_init) std::printf("\n%s", init_table(init_times).c_str());
  if (tune || !tuning_file.empty()) {
    std::printf("\n%s", choices_table(session.kernel_choices()).c_str());
  } else if (verbose_init) {
    const std::string t = choices_table(session.kernel_choices());
    std::printf("\n%s", t.substr(0, t.find('\n') + 1).c_str());  // the summary line
  }
  if (profile) std::printf("\n%s", pocket::tools::profile_table(prof).c_str());
  if (!trace_path.empty()) std::printf("trace          %s\n", trace_path.c_str());
  return 0;
}

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return tool_main(argc, argv); });
}
