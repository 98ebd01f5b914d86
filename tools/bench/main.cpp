// pocket-bench: whole-model latency and memory of a .pocket model.
// Talks to engine/ directly (Model, Session) rather than the C API because it reports what only
// the engine exposes: the memory plan's lower bound and the per-op profile.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "tools/bench/profile.h"
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

// Range for random values of one input: metadata property "input_range.<name>" = "lo,hi", else
// "vocab_size" for integer inputs, else the dtype's default.
bool random_range(const pocket::Model& model, const pocket::Value& v, double* lo, double* hi, std::string* error) {
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
  const std::string vocab = model.property("vocab_size");
  if (integer && !vocab.empty()) {
    int64_t n = 0;
    if (!pocket::tools::parse_int(vocab, 1, INT64_MAX, &n, error)) {
      *error = "metadata property 'vocab_size': " + *error;
      return false;
    }
    *lo = 0;
    *hi = static_cast<double>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> model_path, input_specs;
  int64_t threads = 1, warmup = 5, iterations = 50, seed = 0;
  bool json = false, profile = false, resize = false;
  std::string trace_path;
  pocket::tools::ArgParser args(
      kTool,
      "MODEL.pocket [--input NAME=FILE.npy ...] [--threads N] [--warmup N] [--iterations N] [--json] [--profile] "
      "[--trace FILE.json]",
      "Measures load, session creation (init), first run and steady-state latency (mean, std, min, p50,\n"
      "p90, p99, runs/s), the activation arena (and its lower bound) and peak RSS. Inputs not given are\n"
      "random (seeded): floats in [-1, 1), int64/int32 in [0, 2) or [0, vocab_size) when the model's\n"
      "metadata has a 'vocab_size' property, uint8 in [0, 256); metadata property 'input_range.NAME' =\n"
      "'lo,hi' overrides the range of input NAME.");
  args.positional("MODEL.pocket", &model_path, 1, false, "the model to benchmark");
  args.repeated("--input", "NAME=FILE", &input_specs, "value of input NAME (others are random)");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  args.option_int("--warmup", "N", 0, 1000000, &warmup, "untimed runs after the first (default 5)");
  args.option_int("--iterations", "N", 1, 10000000, &iterations, "timed runs (default 50)");
  args.option_int("--seed", "N", 0, INT64_MAX, &seed, "seed of the random inputs (default 0)");
  args.flag("--json", &json, "print one JSON object instead of text");
  args.flag("--profile", &profile, "per-op table (op, node, output shape, kernel, mean time, share, GFLOP/s)");
  args.option("--trace", "FILE.json", &trace_path, "write a Chrome trace (chrome://tracing) of one profiled run");
  args.flag("--resize", &resize, "re-plan the model for --input arrays whose shape differs");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }
  std::vector<pocket::tools::InputAssignment> assignments;
  std::string error;
  if (!pocket::tools::parse_input_assignments(input_specs, &assignments, &error)) return report_error(kTool, error);

  double t0 = pocket::tools::now_ms();
  auto model = pocket::Model::load_file(model_path[0]);
  if (!model.ok()) return report_error(kTool, "cannot load model: " + model.status().message());
  const double load_ms = pocket::tools::now_ms() - t0;

  pocket::SessionOptions options;
  options.num_threads = static_cast<int>(threads);
  t0 = pocket::tools::now_ms();
  auto created = pocket::Session::create(model.value(), options);
  if (!created.ok())
    return report_error(kTool, "cannot prepare model '" + model_path[0] + "': " + created.status().message());
  double init_ms = pocket::tools::now_ms() - t0;
  pocket::Session& session = *created.value();

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
    if (!random_range(*model.value(), v, &lo, &hi, &error)) return report_error(kTool, error);
    const auto dtype = static_cast<pocket_dtype>(static_cast<int>(v.dtype));
    if (!pocket::tools::fill_random(dtype, static_cast<size_t>(v.elements()), static_cast<uint64_t>(seed) + i, lo, hi, v.data))
      return report_error(kTool, "cannot make random values for input '" + std::string(v.name) + "' of dtype " +
                                     pocket::dtype_name(v.dtype));
  }

  t0 = pocket::tools::now_ms();
  session.run();
  const double first_run_ms = pocket::tools::now_ms() - t0;
  for (int64_t i = 0; i < warmup; ++i) session.run();
  std::vector<double> times;
  times.reserve(static_cast<size_t>(iterations));
  for (int64_t i = 0; i < iterations; ++i) {
    t0 = pocket::tools::now_ms();
    session.run();
    times.push_back(pocket::tools::now_ms() - t0);
  }
  const pocket::tools::LatencyStats st = pocket::tools::compute_stats(times);

  pocket::tools::Profile prof;
  const bool want_profile = profile || !trace_path.empty();
  if (want_profile) prof = pocket::tools::profile_session(session, static_cast<int>(std::min<int64_t>(iterations, 1000)));
  if (!trace_path.empty() && !pocket::tools::write_chrome_trace(prof, trace_path, &error)) return report_error(kTool, error);
  const uint64_t peak_rss = pocket::tools::peak_rss_bytes();
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
    if (want_profile) num("profile", pocket::tools::profile_json(prof));
    if (!trace_path.empty()) num("trace", pocket::tools::json_string(trace_path));
    std::printf("%s}\n", o.c_str());
    return 0;
  }
  std::printf("model          %s (%s)\n", model_path[0].c_str(), mib(model.value()->file_size()).c_str());
  std::printf("threads        %lld\n", static_cast<long long>(threads));
  std::printf("load           %s ms\n", f3(load_ms).c_str());
  std::printf("init           %s ms (session create: shapes, prepare, memory plan)\n", f3(init_ms).c_str());
  std::printf("first run      %s ms\n", f3(first_run_ms).c_str());
  std::printf("runs           %lld timed after %lld warm-up\n", static_cast<long long>(iterations), static_cast<long long>(warmup));
  std::printf("mean           %s ms  (std %s)\n", f3(st.mean).c_str(), f3(st.std).c_str());
  std::printf("min            %s ms\n", f3(st.min).c_str());
  std::printf("p50 / p90 / p99  %s / %s / %s ms\n", f3(st.p50).c_str(), f3(st.p90).c_str(), f3(st.p99).c_str());
  std::printf("throughput     %.2f runs/s\n", runs_per_s);
  std::printf("arena          %zu bytes (%s), plan lower bound %zu bytes (%s)\n", session.arena_bytes(),
              mib(session.arena_bytes()).c_str(), session.arena_lower_bound(), mib(session.arena_lower_bound()).c_str());
  std::printf("peak RSS       %llu bytes (%s)\n", static_cast<unsigned long long>(peak_rss), mib(peak_rss).c_str());
  if (profile) std::printf("\n%s", pocket::tools::profile_table(prof).c_str());
  if (!trace_path.empty()) std::printf("trace          %s\n", trace_path.c_str());
  return 0;
}
