// Battery- and heat-friendly inference (engine/pacing.h): the rate limit, the duty cycle and
// sustained mode's thread cap, driven by a fake clock.
#include "engine/pacing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

constexpr int64_t kMs = 1000000;

// A clock the test moves by hand; work that "takes" a given time moves it too.
struct FakeClock {
  int64_t now = 0;
  NanoClock clock() {
    return [this] { return now; };
  }
};

TEST(Pacing, FirstCallRunsThenRateLimits) {
  FakeClock t;
  PacingOptions o;
  o.min_interval_ns = 100 * kMs;
  Pacer p(o, t.clock());
  int work = 0;
  auto run = [&] { ++work; };
  EXPECT_EQ(p.wait_ns(), 0);
  EXPECT_EQ(p.run(run), PaceResult::kRan);  // t = 0: the first call always runs
  EXPECT_EQ(work, 1);
  t.now = 50 * kMs;
  EXPECT_EQ(p.run(run), PaceResult::kReused);
  EXPECT_EQ(p.wait_ns(), 50 * kMs);
  t.now = 100 * kMs - 1;
  EXPECT_EQ(p.run(run), PaceResult::kReused);
  EXPECT_EQ(work, 1);  // reused calls do not call the work
  t.now = 100 * kMs;   // t >= interval: runs
  EXPECT_EQ(p.run(run), PaceResult::kRan);
  EXPECT_EQ(work, 2);
  EXPECT_EQ(p.next_run_ns(), 200 * kMs);
  // force runs inside the interval, and the interval restarts from it.
  t.now = 120 * kMs;
  EXPECT_EQ(p.run(run, /*force=*/true), PaceResult::kRan);
  t.now = 200 * kMs;
  EXPECT_EQ(p.run(run), PaceResult::kReused);
  t.now = 220 * kMs;
  EXPECT_EQ(p.run(run), PaceResult::kRan);
  EXPECT_EQ(p.runs(), 4);
  EXPECT_EQ(p.reused(), 3);
  EXPECT_EQ(work, 4);
}

TEST(Pacing, NoLimitsRunsEveryTime) {
  FakeClock t;
  Pacer p(PacingOptions{}, t.clock());
  int work = 0;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.run([&] { ++work; }), PaceResult::kRan);
  EXPECT_EQ(work, 5);
}

TEST(Pacing, DutyCycleRestsInProportionToTheRun) {
  FakeClock t;
  PacingOptions o;
  o.duty = 0.25;
  Pacer p(o, t.clock());
  auto run_40ms = [&] { t.now += 40 * kMs; };
  ASSERT_EQ(p.run(run_40ms), PaceResult::kRan);  // 0 .. 40 ms
  EXPECT_EQ(p.last_run_duration_ns(), 40 * kMs);
  // Rest 40 * (1 / 0.25 - 1) = 120 ms after the end: next run at 160 ms.
  EXPECT_EQ(p.next_run_ns(), 160 * kMs);
  t.now = 100 * kMs;
  EXPECT_EQ(p.wait_ns(), 60 * kMs);
  EXPECT_EQ(p.run(run_40ms), PaceResult::kReused);
  EXPECT_EQ(t.now, 100 * kMs);  // the work did not run
  t.now = 160 * kMs;
  EXPECT_EQ(p.run(run_40ms), PaceResult::kRan);  // 160 .. 200 ms
  // A shorter run earns a shorter rest: 10 ms -> 30 ms.
  t.now = 400 * kMs;
  EXPECT_EQ(p.run([&] { t.now += 10 * kMs; }), PaceResult::kRan);
  EXPECT_EQ(p.next_run_ns(), 440 * kMs);
  EXPECT_EQ(p.busy_ns(), 90 * kMs);
}

TEST(Pacing, DutyCycleBoundsBusyTimeUnderAFastCaller) {
  // A caller asking every 5 ms for 10 s of fake time, runs of 30 ms: busy at most half the time.
  FakeClock t;
  PacingOptions o;
  o.duty = 0.5;
  Pacer p(o, t.clock());
  const int64_t end = 10000 * kMs;
  while (t.now < end) {
    p.run([&] { t.now += 30 * kMs; });
    t.now += 5 * kMs;
  }
  // Every run of t is followed by a rest of at least t: up to the end of the last rest, the runs
  // took at most half the time.
  EXPECT_LE(2 * p.busy_ns(), p.next_run_ns());
  // And the pacer does not leave much idle time either.
  EXPECT_GE(static_cast<double>(p.busy_ns()) / static_cast<double>(t.now), 0.45);
  EXPECT_GT(p.reused(), p.runs());
}

TEST(Pacing, IntervalAndDutyTogetherTakeTheLater) {
  FakeClock t;
  PacingOptions o;
  o.min_interval_ns = 100 * kMs;
  o.duty = 0.5;
  Pacer p(o, t.clock());
  p.run([&] { t.now += 20 * kMs; });  // interval: 100 ms; duty: 20 + 20 = 40 ms
  EXPECT_EQ(p.next_run_ns(), 100 * kMs);
  t.now = 200 * kMs;
  p.run([&] { t.now += 80 * kMs; });  // interval: 300 ms; duty: 280 + 80 = 360 ms
  EXPECT_EQ(p.next_run_ns(), 360 * kMs);
  t.now = 300 * kMs;
  EXPECT_EQ(p.run([] {}), PaceResult::kReused);
}

TEST(Pacing, OptionsAreValidated) {
  PacingOptions o;
  EXPECT_TRUE(o.validate().ok());
  o.duty = 0;
  EXPECT_FALSE(o.validate().ok());
  EXPECT_NE(o.validate().message().find("duty"), std::string::npos);
  o.duty = 1.5;
  EXPECT_FALSE(o.validate().ok());
  o.duty = std::nan("");
  EXPECT_FALSE(o.validate().ok());
  o.duty = 1;
  o.min_interval_ns = -1;
  EXPECT_FALSE(o.validate().ok());
  EXPECT_NE(o.validate().message().find("min_interval_ns"), std::string::npos);
}

TEST(Pacing, HostileClockValuesSaturate) {
  // Times near the ends of int64, a clock going backwards, a tiny duty: no overflow (UBSan checks)
  // and the documented results.
  FakeClock t;
  t.now = std::numeric_limits<int64_t>::max() - 5;
  PacingOptions o;
  o.min_interval_ns = std::numeric_limits<int64_t>::max();
  o.duty = 1e-12;
  Pacer p(o, t.clock());
  EXPECT_EQ(p.run([&] { t.now += 3; }), PaceResult::kRan);
  EXPECT_EQ(p.next_run_ns(), std::numeric_limits<int64_t>::max());
  t.now = std::numeric_limits<int64_t>::min();  // backwards, to the far past
  EXPECT_EQ(p.run([] {}), PaceResult::kReused);
  EXPECT_EQ(p.wait_ns(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(p.run([&] { t.now = std::numeric_limits<int64_t>::max(); }, /*force=*/true), PaceResult::kRan);
  EXPECT_EQ(p.runs(), 2);
}

TEST(Pacing, DefaultClockIsMonotonic) {
  Pacer p(PacingOptions{});
  const int64_t a = p.now();
  const int64_t b = steady_clock_ns();
  EXPECT_LE(a, b);
  EXPECT_EQ(p.run([] {}), PaceResult::kRan);
  EXPECT_GE(p.last_run_duration_ns(), 0);
}

TEST(Pacing, SustainedThreadCount) {
  EXPECT_EQ(sustained_threads(8, 0, 8), 4);   // half the cores
  EXPECT_EQ(sustained_threads(8, 0, 3), 1);   // rounded down, at least 1
  EXPECT_EQ(sustained_threads(8, 0, 1), 1);
  EXPECT_EQ(sustained_threads(8, 0, 0), 1);   // unknown core count
  EXPECT_EQ(sustained_threads(2, 0, 16), 2);  // never raises the request
  EXPECT_EQ(sustained_threads(8, 3, 16), 3);  // an explicit cap
  EXPECT_EQ(sustained_threads(2, 3, 16), 2);
  EXPECT_EQ(sustained_threads(1, 0, 64), 1);
}

std::shared_ptr<const Model> add_model() {
  testing::OpSpec spec;
  spec.op = fb::OpType::Add;
  spec.inputs = {testing::TestTensor::f32({4}, {0, 0, 0, 0}), testing::TestTensor::f32({4}, {0, 0, 0, 0})};
  const std::vector<uint8_t> bytes = testing::build_single_op_model(spec);
  auto m = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

TEST(Pacing, SustainedModeCapsTheSessionsThreads) {
  auto model = add_model();
  ASSERT_TRUE(model);
  SessionOptions o;
  o.num_threads = 4;
  auto plain = Session::create(model, o);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain.value()->num_threads(), 4);

  o.sustained = true;
  o.sustained_max_threads = 2;
  auto capped = Session::create(model, o);
  ASSERT_TRUE(capped.ok()) << capped.status().message();
  EXPECT_EQ(capped.value()->num_threads(), 2);

  o.sustained_max_threads = 0;  // half this machine's cores
  auto half = Session::create(model, o);
  ASSERT_TRUE(half.ok()) << half.status().message();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(half.value()->num_threads(), std::min(4, std::max(1, cores / 2)));

  o.num_threads = 0;  // still an error under the cap
  EXPECT_FALSE(Session::create(model, o).ok());
}

TEST(Pacing, PacedSessionKeepsThePreviousOutputs) {
  auto model = add_model();
  ASSERT_TRUE(model);
  auto s = Session::create(model);
  ASSERT_TRUE(s.ok()) << s.status().message();
  Session& session = *s.value();
  FakeClock t;
  PacingOptions o;
  o.min_interval_ns = 1000 * kMs;
  PacedSession paced(session, o, t.clock());
  const float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, c[4] = {100, 100, 100, 100};
  ASSERT_TRUE(session.set_input("in0", DType::F32, {4}, a).ok());
  ASSERT_TRUE(session.set_input("in1", DType::F32, {4}, b).ok());
  ASSERT_EQ(paced.run(), PaceResult::kRan);
  const float* out = static_cast<const float*>(session.output(0).data);
  EXPECT_EQ(out[3], 44.f);
  // New inputs inside the interval: the previous result stays.
  ASSERT_TRUE(session.set_input("in1", DType::F32, {4}, c).ok());
  t.now = 500 * kMs;
  EXPECT_EQ(paced.run(), PaceResult::kReused);
  EXPECT_EQ(out[3], 44.f);
  // Asked for: a fresh result.
  EXPECT_EQ(paced.run(/*force=*/true), PaceResult::kRan);
  EXPECT_EQ(out[3], 104.f);
  EXPECT_EQ(paced.pacer().runs(), 2);
}

}  // namespace
}  // namespace pocket
