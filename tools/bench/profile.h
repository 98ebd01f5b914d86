// Per-op profile of a session for pocket-bench: mean time per node over profiled runs, a text
// table, a JSON array, and a Chrome trace (chrome://tracing, "Trace Event Format") of one run.
// Uses engine/session.h directly: run_profiled() and profile_info() are not in the C API.
#pragma once

#include <string>
#include <vector>

#include "engine/session.h"

namespace pocket::tools {

struct OpTiming {
  OpProfile info;
  double mean_ms = 0;
  double share = 0;     // of the summed op time, 0..1
  double gflops = 0;    // info.flops / mean time, 0 if the op reports no flops
};

struct Profile {
  std::vector<OpTiming> ops;          // in execution order
  std::vector<double> last_run_ms;    // each op's time in the last profiled run
  double total_ms = 0;                // sum of mean op times
};

// Runs the session `runs` times with per-op timing (runs >= 1).
Profile profile_session(Session& session, int runs);

// Per-node table followed by a per-op-type summary, for the terminal.
std::string profile_table(const Profile& p);
// [{"op":..., "name":..., "kernel":..., "choice":..., "shape":[...], "mean_ms":..., "share":..., "gflops":...}, ...]
std::string profile_json(const Profile& p);
// Writes the last profiled run as a Chrome trace; false with error on I/O failure.
bool write_chrome_trace(const Profile& p, const std::string& path, std::string* error);

}  // namespace pocket::tools
