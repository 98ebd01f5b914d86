// The pacing C API (pocket.h: pocket_pacer_*) over pocket::Pacer (engine/pacing.h).
#include <memory>
#include <string>

#include "engine/c_api_internal.h"
#include "engine/pacing.h"
#include "pocket/pocket.h"

struct pocket_pacer {
  pocket_session* session = nullptr;  // not owned
  uint64_t generation = 0;            // the session's resize generation at the last run
  std::unique_ptr<pocket::Pacer> pacer;
};

namespace {

using pocket::capi::call_guarded;
using pocket::capi::fail;
using pocket::capi::require;

}  // namespace

extern "C" {

void pocket_pacer_options_init(pocket_pacer_options* options) {
  if (!options) return;
  options->min_interval_ns = 0;
  options->duty_cycle = 1.0;
  options->clock = nullptr;
  options->clock_context = nullptr;
}

pocket_status pocket_pacer_create(pocket_session* session, const pocket_pacer_options* options,
                                  pocket_pacer** out_pacer) {
  static constexpr const char* fn = "pocket_pacer_create";
  return call_guarded(fn, [&] {
    if (out_pacer) *out_pacer = nullptr;
    if (pocket_status st = require(fn, {{session, "session"}, {options, "options"}, {out_pacer, "out_pacer"}});
        st != POCKET_OK)
      return st;
    pocket::PacingOptions o;
    o.min_interval_ns = options->min_interval_ns;
    o.duty = options->duty_cycle;
    if (pocket::Status st = o.validate(); !st.ok()) return fail(POCKET_INVALID_ARGUMENT, fn, st.message());
    pocket::NanoClock clock;
    if (options->clock) clock = [f = options->clock, c = options->clock_context] { return f(c); };
    auto p = std::make_unique<pocket_pacer>();
    p->session = session;
    p->generation = session->generation;
    p->pacer = std::make_unique<pocket::Pacer>(o, std::move(clock));
    *out_pacer = p.release();
    return POCKET_OK;
  });
}

void pocket_pacer_free(pocket_pacer* pacer) { delete pacer; }

pocket_status pocket_pacer_run(pocket_pacer* pacer, int32_t force, pocket_pace_result* out_result) {
  static constexpr const char* fn = "pocket_pacer_run";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{pacer, "pacer"}}); st != POCKET_OK) return st;
    // A resize since the last run replaced the outputs: nothing to reuse.
    const bool resized = pacer->session->generation != pacer->generation;
    const pocket::PaceResult r = pacer->pacer->run([&] { pacer->session->session->run(); }, force != 0 || resized);
    if (r == pocket::PaceResult::kRan) pacer->generation = pacer->session->generation;
    if (out_result) *out_result = r == pocket::PaceResult::kRan ? POCKET_PACE_RAN : POCKET_PACE_REUSED;
    return POCKET_OK;
  });
}

pocket_status pocket_pacer_get_stats(const pocket_pacer* pacer, pocket_pacer_stats* out) {
  static constexpr const char* fn = "pocket_pacer_get_stats";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{pacer, "pacer"}, {out, "out"}}); st != POCKET_OK) return st;
    const pocket::Pacer& p = *pacer->pacer;
    pocket_pacer_stats s;
    s.runs = p.runs();
    s.reused = p.reused();
    s.last_run_ns = p.last_run_duration_ns();
    s.busy_ns = p.busy_ns();
    s.next_run_ns = p.next_run_ns();
    s.wait_ns = p.wait_ns();
    *out = s;
    return POCKET_OK;
  });
}

}  // extern "C"
