// Battery- and heat-friendly inference: a pacer that runs a model at most once per minimum
// interval and keeps the CPU busy at most a given fraction (duty cycle) of the time, returning the
// previous result otherwise; and the thread cap of sustained mode (SessionOptions::sustained).
// Time comes from an injectable monotonic clock, so tests drive it by hand.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/status.h"

namespace pocket {

class Session;
struct SessionOptions;

// Monotonic nanoseconds. Any origin; must never go backwards.
using NanoClock = std::function<int64_t()>;
int64_t steady_clock_ns();  // std::chrono::steady_clock, the default clock

struct PacingOptions {
  // Rate limit: a run starts at most once per min_interval_ns (start to start). 0: no limit.
  int64_t min_interval_ns = 0;
  // Duty-cycle limit, in (0, 1]: after a run that took t, the next run starts no sooner than
  // t * (1 / duty - 1) after it ended, so the work is busy at most `duty` of the time. 1: no limit.
  double duty = 1.0;

  Status validate() const;  // min_interval_ns >= 0 and 0 < duty <= 1
};

enum class PaceResult { kRan, kReused };

// Decides whether a piece of work runs now or its previous result is reused. The first call
// always runs; so does every call with force. Input changes are not detected: a caller whose
// inputs changed and who needs a fresh result passes force. Not thread-safe (one thread at a time,
// like the session it paces).
class Pacer {
 public:
  // options must validate(); an empty clock means steady_clock_ns.
  explicit Pacer(PacingOptions options, NanoClock clock = {});

  // Runs work when allowed (or forced) and returns kRan; otherwise returns kReused without calling
  // it. Reads the clock once, and once more after work when it ran (to measure the run).
  PaceResult run(const std::function<void()>& work, bool force = false);

  // When the next unforced run may start, on the clock's scale (INT64_MIN before the first run).
  int64_t next_run_ns() const { return next_run_ns_; }
  // Nanoseconds from now until then (0 when a run would start now).
  int64_t wait_ns() const;

  int64_t runs() const { return runs_; }
  int64_t reused() const { return reused_; }
  int64_t last_run_duration_ns() const { return last_duration_ns_; }
  int64_t busy_ns() const { return busy_ns_; }  // sum of every run's duration
  const PacingOptions& options() const { return options_; }
  int64_t now() const { return clock_(); }

 private:
  PacingOptions options_;
  NanoClock clock_;
  bool has_run_ = false;
  int64_t next_run_ns_;
  int64_t runs_ = 0, reused_ = 0;
  int64_t last_duration_ns_ = 0, busy_ns_ = 0;
};

// A Pacer over Session::run(). The session is not owned and must outlive this object. After
// resize_input(s) the outputs no longer hold the previous result: run(true) once.
class PacedSession {
 public:
  PacedSession(Session& session, PacingOptions options, NanoClock clock = {});
  PaceResult run(bool force = false);
  Session& session() { return session_; }
  const Pacer& pacer() const { return pacer_; }

 private:
  Session& session_;
  Pacer pacer_;
};

// Sustained mode's thread count: min(requested, cap), where cap is max_threads when > 0, else half
// of cores (at least 1). cores <= 0 counts as 1.
int sustained_threads(int requested, int max_threads, int cores);
// options with num_threads capped as above when options.sustained (the machine's core count from
// std::thread::hardware_concurrency()); options unchanged otherwise. Session::create applies it.
SessionOptions with_sustained_cap(const SessionOptions& options);

}  // namespace pocket
