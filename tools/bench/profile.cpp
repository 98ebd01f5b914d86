#include "tools/bench/profile.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "tools/common/tool_util.h"

namespace pocket::tools {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string shape_json(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  out += ']';
  return out;
}

std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }
// Node names are paths whose end says most ("/features.3/block/block.0/Conv"): keep the tail.
std::string clip_front(const std::string& s, size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - (n - 3)); }

}  // namespace

Profile profile_session(Session& session, int runs) {
  Profile p;
  std::vector<OpProfile> info = session.profile_info();
  std::vector<double> sum(info.size(), 0.0), seconds;
  runs = std::max(runs, 1);
  for (int r = 0; r < runs; ++r) {
    session.run_profiled(seconds);
    for (size_t i = 0; i < sum.size() && i < seconds.size(); ++i) sum[i] += seconds[i];
  }
  for (double s : seconds) p.last_run_ms.push_back(s * 1e3);
  p.last_run_ms.resize(info.size(), 0.0);
  for (size_t i = 0; i < info.size(); ++i) {
    OpTiming t;
    t.info = std::move(info[i]);
    t.mean_ms = sum[i] / runs * 1e3;
    p.total_ms += t.mean_ms;
    p.ops.push_back(std::move(t));
  }
  for (OpTiming& t : p.ops) {
    t.share = p.total_ms > 0 ? t.mean_ms / p.total_ms : 0;
    t.gflops = t.mean_ms > 0 && t.info.flops > 0 ? static_cast<double>(t.info.flops) / (t.mean_ms * 1e-3) / 1e9 : 0;
  }
  return p;
}

std::string profile_table(const Profile& p) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-4s %-18s %-32s %-20s %-26s %-9s %10s %7s %9s\n", "#", "op", "node", "output shape",
                "kernel", "choice", "mean ms", "share", "GFLOP/s");
  out += line;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const OpTiming& t = p.ops[i];
    std::snprintf(line, sizeof line, "%-4zu %-18s %-32s %-20s %-26s %-9s %10.4f %6.1f%% %9s\n", i, clip(t.info.op, 18).c_str(),
                  clip_front(t.info.name, 32).c_str(), clip(shape_str(t.info.output_shape), 20).c_str(),
                  clip(t.info.kernel, 26).c_str(), t.info.choice.empty() ? "-" : t.info.choice.c_str(), t.mean_ms, t.share * 100,
                  t.gflops > 0 ? fmt("%.2f", t.gflops).c_str() : "-");
    out += line;
  }
  // Summary by op type, most expensive first.
  struct Agg { double ms = 0; int count = 0; int64_t flops = 0; };
  std::map<std::string, Agg> by_op;
  for (const OpTiming& t : p.ops) {
    Agg& a = by_op[t.info.op];
    a.ms += t.mean_ms;
    a.count += 1;
    a.flops += t.info.flops;
  }
  std::vector<std::pair<std::string, Agg>> sorted(by_op.begin(), by_op.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::snprintf(line, sizeof line, "\n%-18s %6s %10s %7s %9s\n", "op type", "count", "total ms", "share", "GFLOP/s");
  out += line;
  for (const auto& [op, a] : sorted) {
    const double g = a.ms > 0 && a.flops > 0 ? static_cast<double>(a.flops) / (a.ms * 1e-3) / 1e9 : 0;
    std::snprintf(line, sizeof line, "%-18s %6d %10.4f %6.1f%% %9s\n", clip(op, 18).c_str(), a.count, a.ms,
                  p.total_ms > 0 ? a.ms / p.total_ms * 100 : 0.0, g > 0 ? fmt("%.2f", g).c_str() : "-");
    out += line;
  }
  std::snprintf(line, sizeof line, "%-18s %6zu %10.4f\n", "all ops", p.ops.size(), p.total_ms);
  out += line;
  return out;
}

std::string profile_json(const Profile& p) {
  std::string out = "[";
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const OpTiming& t = p.ops[i];
    if (i) out += ',';
    out += std::string("{\"op\":") + json_string(t.info.op) + ",\"name\":" + json_string(t.info.name) +
           ",\"kernel\":" + json_string(t.info.kernel) + ",\"choice\":" + json_string(t.info.choice) + ",\"shape\":" + shape_json(t.info.output_shape) +
           ",\"flops\":" + std::to_string(t.info.flops) + ",\"mean_ms\":" + fmt("%.6f", t.mean_ms) +
           ",\"share\":" + fmt("%.6f", t.share) + ",\"gflops\":" + fmt("%.4f", t.gflops) + "}";
  }
  return out + "]";
}

bool write_chrome_trace(const Profile& p, const std::string& path, std::string* error) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) {
    *error = "cannot create trace file '" + path + "'";
    return false;
  }
  // Ops run back to back, so each starts where the previous ended (microseconds).
  f << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  f << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"pocket\"}}";
  double ts = 0;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const OpTiming& t = p.ops[i];
    const double dur = p.last_run_ms[i] * 1e3;
    f << ",\n{\"name\":" << json_string(t.info.name.empty() ? t.info.op : t.info.name) << ",\"cat\":"
      << json_string(t.info.op) << ",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":" << fmt("%.3f", ts)
      << ",\"dur\":" << fmt("%.3f", dur) << ",\"args\":{\"op\":" << json_string(t.info.op)
      << ",\"kernel\":" << json_string(t.info.kernel) << ",\"shape\":" << json_string(shape_str(t.info.output_shape))
      << ",\"flops\":" << t.info.flops << "}}";
    ts += dur;
  }
  f << "\n]}\n";
  f.close();
  if (!f) {
    *error = "cannot write trace file '" + path + "'";
    return false;
  }
  return true;
}

}  // namespace pocket::tools
