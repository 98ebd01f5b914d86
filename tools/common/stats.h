// Latency statistics and process memory for the benchmark tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pocket::tools {

struct LatencyStats {
  size_t count = 0;
  double mean = 0, std = 0, min = 0, max = 0;  // std: sample standard deviation (n - 1)
  double p50 = 0, p90 = 0, p99 = 0;            // linear interpolation between order statistics
};

// Stats of samples (any unit; the result is in the same unit). All zero for no samples.
LatencyStats compute_stats(std::vector<double> samples);
// Percentile q in [0, 100] of sorted samples, interpolating linearly (NumPy's default).
double percentile_sorted(const std::vector<double>& sorted, double q);

// Peak resident set size of this process in bytes: VmHWM from /proc/self/status, else
// getrusage's ru_maxrss; 0 if neither is available.
uint64_t peak_rss_bytes();

}  // namespace pocket::tools
