// pocket_bench_soak: runs one model many times on one session and checks that nothing grows.
//
//   pocket_bench_soak MODEL.pocket [--runs 100000] [--threads N] [--report-every 10000]
//
// At the start (after session creation and one run) and at the end it prints peak RSS (VmHWM),
// current RSS (VmRSS), the arena size, Session::memory().total(), the heap in use (glibc
// mallinfo2: uordblks + hblkhd) and runs/s; every --report-every runs one progress line. The
// last line is the verdict: "no growth" when the end matches the start (RSS within a small
// tolerance, arena, memory total and heap identical) and the outputs are still bitwise those of
// the first run, else "GROWTH: ..." naming what changed (exit status 1). SIGINT/SIGTERM end the
// loop early: the end figures and the verdict are still printed, for the runs done.
#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

// One "VmXXX:   123 kB" line of /proc/self/status, in bytes (0 when unavailable).
size_t proc_status_bytes(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
      return static_cast<size_t>(std::strtoull(line.c_str() + n + 1, nullptr, 10)) * 1024;
  }
  return 0;
}

struct Snapshot {
  size_t peak_rss = 0, rss = 0;
  size_t arena = 0, session_total = 0;
  size_t heap = 0;  // uordblks + hblkhd: bytes handed out by malloc (small chunks and mmapped ones)
};

Snapshot snapshot(const pocket::Session& s) {
  Snapshot x;
  x.peak_rss = proc_status_bytes("VmHWM");
  x.rss = proc_status_bytes("VmRSS");
  x.arena = s.arena_bytes();
  x.session_total = s.memory().total();
  const struct mallinfo2 mi = mallinfo2();
  x.heap = mi.uordblks + mi.hblkhd;
  return x;
}

double mib(size_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

void print_snapshot(const char* when, const Snapshot& x, int64_t runs, double runs_per_s) {
  std::printf("%-5s runs %-8" PRId64 " peak RSS %8.2f MiB  RSS %8.2f MiB  arena %" PRIu64 " B  session total %" PRIu64
              " B  heap in use %" PRIu64 " B  %.1f runs/s\n",
              when, runs, mib(x.peak_rss), mib(x.rss), static_cast<uint64_t>(x.arena),
              static_cast<uint64_t>(x.session_total), static_cast<uint64_t>(x.heap), runs_per_s);
  std::fflush(stdout);
}

bool parse_count(const char* flag, const char* text, int64_t lo, int64_t hi, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "pocket_bench_soak: %s needs a whole number in [%" PRId64 ", %" PRId64 "], got '%s'\n", flag,
                 lo, hi, text);
    return false;
  }
  *out = v;
  return true;
}

const char kUsage[] =
    "usage: pocket_bench_soak MODEL.pocket [--runs N (100000)] [--threads N (1)] [--report-every N (10000)]\n"
    "Runs MODEL N times on one session; prints peak/current RSS, arena, session memory and heap at the\n"
    "start and the end, and \"no growth\" or \"GROWTH: ...\" (exit 1).\n";

// Deterministic input contents: uniform [-1, 1) floats, zeros for other dtypes.
void fill_input(pocket::Value& v, uint32_t seed) {
  std::memset(v.data, 0, v.bytes());
  if (v.dtype != pocket::DType::F32) return;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  float* p = v.as<float>();
  for (int64_t i = 0; i < v.elements(); ++i) p[i] = d(rng);
}

std::vector<std::vector<uint8_t>> outputs_of(const pocket::Session& s) {
  std::vector<std::vector<uint8_t>> out(s.num_outputs());
  for (size_t i = 0; i < s.num_outputs(); ++i) {
    const pocket::Value& v = s.output(i);
    const auto* p = static_cast<const uint8_t*>(v.data);
    out[i].assign(p, p + v.bytes());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  int64_t runs = 100000, threads = 1, every = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pocket_bench_soak: %s needs a value\n", flag);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--runs" || a == "--threads" || a == "--report-every") {
      const char* v = value(a.c_str());
      if (!v) return 2;
      int64_t* out = a == "--runs" ? &runs : a == "--threads" ? &threads : &every;
      const int64_t lo = 1, hi = a == "--threads" ? 256 : INT64_C(1000000000000);
      if (!parse_count(a.c_str(), v, lo, hi, out)) return 2;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "pocket_bench_soak: unknown option '%s' (see --help)\n", a.c_str());
      return 2;
    } else if (model_path.empty()) {
      model_path = a;
    } else {
      std::fprintf(stderr, "pocket_bench_soak: one model only, got '%s' and '%s'\n", model_path.c_str(), a.c_str());
      return 2;
    }
  }
  if (model_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  auto model = pocket::Model::load_file(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "pocket_bench_soak: %s: %s\n", model_path.c_str(), model.status().message().c_str());
    return 1;
  }
  pocket::SessionOptions options;
  options.num_threads = static_cast<int>(threads);
  auto created = pocket::Session::create(model.value(), options);
  if (!created.ok()) {
    std::fprintf(stderr, "pocket_bench_soak: session: %s\n", created.status().message().c_str());
    return 1;
  }
  pocket::Session& s = *created.value();
  for (size_t i = 0; i < s.num_inputs(); ++i) fill_input(s.input(i), 1234u + static_cast<uint32_t>(i));

  std::printf("pocket_bench_soak: %s, %" PRId64 " runs, %" PRId64 " thread(s), a line every %" PRId64 " runs\n",
              model_path.c_str(), runs, threads, every);
  std::fflush(stdout);

  auto t0 = Clock::now();
  s.run();
  const double first_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::vector<std::vector<uint8_t>> first_out = outputs_of(s);
  const Snapshot start = snapshot(s);
  print_snapshot("start", start, 1, 1.0 / first_s);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  int64_t done = 1;
  const auto t_loop = Clock::now();
  auto t_mark = t_loop;
  int64_t mark_runs = 0;
  while (done < runs && !g_stop) {
    s.run();
    ++done;
    if ((done % every) == 0 && done < runs) {
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - t_mark).count();
      const int64_t n = done - 1 - mark_runs;
      print_snapshot("run", snapshot(s), done, dt > 0 ? static_cast<double>(n) / dt : 0.0);
      t_mark = now;
      mark_runs = done - 1;
    }
  }
  const double loop_s = std::chrono::duration<double>(Clock::now() - t_loop).count();
  const Snapshot end = snapshot(s);  // before copying the outputs: the copy is heap too
  const std::vector<std::vector<uint8_t>> last_out = outputs_of(s);
  if (g_stop) std::printf("interrupted after %" PRId64 " of %" PRId64 " runs\n", done, runs);
  print_snapshot("end", end, done, loop_s > 0 ? static_cast<double>(done - 1) / loop_s : 0.0);

  // RSS may move by a few pages (the kernel's accounting of shared library pages, stdio); growth
  // per run would show as megabytes over 100 000 runs.
  const size_t rss_tolerance = std::max<size_t>(size_t{2} << 20, start.rss / 50);
  std::string growth;
  auto grew = [&growth](const std::string& what) { growth += (growth.empty() ? "" : "; ") + what; };
  char buf[256];
  if (end.rss > start.rss + rss_tolerance) {
    std::snprintf(buf, sizeof buf, "RSS %.2f -> %.2f MiB (tolerance %.2f MiB)", mib(start.rss), mib(end.rss),
                  mib(rss_tolerance));
    grew(buf);
  }
  if (end.peak_rss > start.peak_rss + rss_tolerance) {
    std::snprintf(buf, sizeof buf, "peak RSS %.2f -> %.2f MiB (tolerance %.2f MiB)", mib(start.peak_rss),
                  mib(end.peak_rss), mib(rss_tolerance));
    grew(buf);
  }
  if (end.arena != start.arena) grew("arena " + std::to_string(start.arena) + " -> " + std::to_string(end.arena) + " B");
  if (end.session_total != start.session_total)
    grew("session total " + std::to_string(start.session_total) + " -> " + std::to_string(end.session_total) + " B");
  if (end.heap != start.heap) grew("heap " + std::to_string(start.heap) + " -> " + std::to_string(end.heap) + " B");
  if (last_out != first_out) grew("outputs of the last run differ from the first run's");

  std::printf("RSS %+.3f MiB, peak RSS %+.3f MiB, arena %+" PRId64 " B, heap %+" PRId64 " B over %" PRId64
              " runs; outputs %s\n",
              mib(end.rss) - mib(start.rss), mib(end.peak_rss) - mib(start.peak_rss),
              static_cast<int64_t>(end.arena) - static_cast<int64_t>(start.arena),
              static_cast<int64_t>(end.heap) - static_cast<int64_t>(start.heap), done,
              last_out == first_out ? "bitwise identical to the first run" : "CHANGED");
  if (growth.empty()) {
    std::printf("no growth\n");
    return 0;
  }
  std::printf("GROWTH: %s\n", growth.c_str());
  return 1;
}
