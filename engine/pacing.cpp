#include "engine/pacing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <utility>

#include "engine/session.h"

namespace pocket {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

constexpr int64_t kLongAgo = std::numeric_limits<int64_t>::min();

// The clock is the caller's: its values may be anything, so the arithmetic saturates.
int64_t add_saturated(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kNever : kLongAgo;
  return r;
}

int64_t sub_saturated(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kNever : kLongAgo;
  return r;
}

// t * (1 / duty - 1), saturated: the rest a run of t nanoseconds earns.
int64_t rest_after(int64_t t, double duty) {
  if (duty >= 1.0 || t <= 0) return 0;
  const double rest = static_cast<double>(t) * (1.0 / duty - 1.0);
  return rest >= 9.0e18 ? kNever : static_cast<int64_t>(std::ceil(rest));
}

}  // namespace

int64_t steady_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status PacingOptions::validate() const {
  if (min_interval_ns < 0)
    return invalid_argument("pacing: min_interval_ns must be >= 0, got " + std::to_string(min_interval_ns));
  if (!(duty > 0.0 && duty <= 1.0))
    return invalid_argument("pacing: duty must be in (0, 1], got " + std::to_string(duty));
  return Status::Ok();
}

Pacer::Pacer(PacingOptions options, NanoClock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : NanoClock(steady_clock_ns)),
      next_run_ns_(kLongAgo) {}

PaceResult Pacer::run(const std::function<void()>& work, bool force) {
  const int64_t start = clock_();
  if (has_run_ && !force && start < next_run_ns_) {
    ++reused_;
    return PaceResult::kReused;
  }
  work();
  const int64_t end = clock_();
  const int64_t took = std::max<int64_t>(0, sub_saturated(end, start));
  has_run_ = true;
  ++runs_;
  last_duration_ns_ = took;
  busy_ns_ = add_saturated(busy_ns_, took);
  next_run_ns_ = std::max(add_saturated(start, options_.min_interval_ns),
                          add_saturated(end, rest_after(took, options_.duty)));
  return PaceResult::kRan;
}

int64_t Pacer::wait_ns() const {
  if (!has_run_) return 0;
  const int64_t now = clock_();
  return now >= next_run_ns_ ? 0 : sub_saturated(next_run_ns_, now);
}

PacedSession::PacedSession(Session& session, PacingOptions options, NanoClock clock)
    : session_(session), pacer_(options, std::move(clock)) {}

PaceResult PacedSession::run(bool force) {
  return pacer_.run([this] { session_.run(); }, force);
}

int sustained_threads(int requested, int max_threads, int cores) {
  const int cap = max_threads > 0 ? max_threads : std::max(1, std::max(cores, 1) / 2);
  return std::min(requested, cap);
}

SessionOptions with_sustained_cap(const SessionOptions& options) {
  SessionOptions capped = options;
  if (options.sustained)
    capped.num_threads = sustained_threads(options.num_threads, options.sustained_max_threads,
                                           static_cast<int>(std::thread::hardware_concurrency()));
  return capped;
}

}  // namespace pocket
