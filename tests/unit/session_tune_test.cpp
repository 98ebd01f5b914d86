// Session kernel choice: tuning (SessionOptions::tune), tuning files (save, reuse, stale, corrupt,
// foreign), and run-time behaviour the session owns (inputs kept across runs, adaptive threads).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::random_floats;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// x [1,10,10,8] -> Conv 3x3 (8->16, pad 1, relu) -> depthwise Conv 3x3 (16, pad 1) -> y [1,10,10,16].
// Both convolutions have several implementations to choose from.
std::vector<uint8_t> two_conv_model() {
  format::ModelDesc m;
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>* data) {
    format::TensorDesc d;
    d.name = name;
    d.shape = std::move(shape);
    if (data) {
      d.has_data = true;
      d.data = f32_bytes(*data);
    }
    return m.add_tensor(d);
  };
  const std::vector<float> w1 = random_floats(16 * 8 * 9, 1, -0.5f, 0.5f), b1 = random_floats(16, 2);
  const std::vector<float> w2 = random_floats(16 * 9, 3, -0.5f, 0.5f), b2 = random_floats(16, 4);
  int x = tensor("x", {1, 10, 10, 8}, nullptr);
  int tw1 = tensor("w1", {16, 8, 3, 3}, &w1), tb1 = tensor("b1", {16}, &b1);
  int h = tensor("h", {}, nullptr);
  int tw2 = tensor("w2", {16, 1, 3, 3}, &w2), tb2 = tensor("b2", {16}, &b2);
  int y = tensor("y", {}, nullptr);
  format::NodeDesc c1;
  c1.op = fb::OpType::Conv;
  c1.name = "conv1";
  c1.inputs = {x, tw1, tb1};
  c1.outputs = {h};
  c1.attrs = {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::String("activation", "Relu")};
  format::NodeDesc c2;
  c2.op = fb::OpType::Conv;
  c2.name = "dwconv2";
  c2.inputs = {h, tw2, tb2};
  c2.outputs = {y};
  c2.attrs = {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("group", 16)};
  m.nodes = {c1, c2};
  m.inputs = {x};
  m.outputs = {y};
  return format::serialize(m);
}

class SessionTune : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = two_conv_model();
    auto m = Model::load_buffer(bytes_.data(), bytes_.size());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = m.value();
    input_ = random_floats(10 * 10 * 8, 7);
    char templ[] = "/tmp/pocket_tune_test_XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Session> create(const SessionOptions& o) {
    auto s = Session::create(model_, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s.value()) : nullptr;
  }
  std::vector<float> run(Session& s) {
    EXPECT_TRUE(s.set_input("x", DType::F32, {1, 10, 10, 8}, input_.data()).ok());
    s.run();
    const Value& y = s.output(0);
    return std::vector<float>(y.as<float>(), y.as<float>() + y.elements());
  }
  std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void write(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
  }
  static bool has_notice(const Session& s, const std::string& part) {
    for (const std::string& n : s.notices())
      if (n.find(part) != std::string::npos) return true;
    return false;
  }

  std::vector<uint8_t> bytes_;
  std::shared_ptr<const Model> model_;
  std::vector<float> input_;
  std::string dir_;
};

TEST_F(SessionTune, DefaultSessionReportsHeuristicChoices) {
  auto s = create({});
  ASSERT_TRUE(s);
  ASSERT_EQ(s->kernel_choices().size(), 2u);
  for (const KernelChoice& c : s->kernel_choices()) {
    EXPECT_GE(c.variants.size(), 2u);
    EXPECT_EQ(c.source, ChoiceSource::kHeuristic);
    EXPECT_TRUE(c.median_ms.empty());
  }
  EXPECT_EQ(s->kernel_choices()[0].name, "conv1");
  EXPECT_EQ(s->profile_info()[0].choice, "heuristic");
  EXPECT_TRUE(s->notices().empty());
}

TEST_F(SessionTune, TunedSessionMatchesDefaultOutputs) {
  auto plain = create({});
  SessionOptions o;
  o.tune = true;
  auto tuned = create(o);
  ASSERT_TRUE(plain && tuned);
  for (const KernelChoice& c : tuned->kernel_choices()) {
    EXPECT_EQ(c.source, ChoiceSource::kTuned);
    ASSERT_EQ(c.median_ms.size(), c.variants.size());
    ASSERT_GE(c.chosen, 0);
    ASSERT_LT(c.chosen, static_cast<int>(c.variants.size()));
    EXPECT_GE(c.median_ms[c.chosen], 0.0) << c.name << " chose a variant it did not time";
    for (double ms : c.median_ms)
      if (ms >= 0) EXPECT_LE(c.median_ms[c.chosen], ms * 1.03 + 1e-9) << c.name << ": the pick is not the fastest";
  }
  EXPECT_GT(tuned->init_times().tune_ms, 0.0);
  testing::expect_close(run(*tuned), run(*plain), 1e-4f);
}

TEST_F(SessionTune, SavedFileRoundTripsAndIsHonoured) {
  const std::string path = dir_ + "/model.pocket.tune";
  SessionOptions o;
  o.tune = true;
  o.tuning_file = path;
  auto tuned = create(o);
  ASSERT_TRUE(tuned);
  const std::string text = read(path);
  ASSERT_EQ(text.rfind("pocket-tuning 1\n", 0), 0u) << text;
  EXPECT_NE(text.find("\tconv1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\tdwconv2\n"), std::string::npos) << text;

  // Reused without tuning: the same choices, from the file.
  SessionOptions reuse;
  reuse.tuning_file = path;
  auto again = create(reuse);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->kernel_choices().size(), tuned->kernel_choices().size());
  for (size_t i = 0; i < again->kernel_choices().size(); ++i) {
    const KernelChoice& a = again->kernel_choices()[i];
    const KernelChoice& t = tuned->kernel_choices()[i];
    EXPECT_EQ(a.source, ChoiceSource::kFile);
    EXPECT_EQ(a.variants[a.chosen], t.variants[t.chosen]);
  }
  EXPECT_TRUE(again->notices().empty()) << again->notices()[0];

  // A hand-edited choice (the last variant of conv1, not the heuristic's) is what the session uses.
  auto plain = create({});
  const KernelChoice& c1 = plain->kernel_choices()[0];
  const int last = static_cast<int>(c1.variants.size()) - 1;
  ASSERT_NE(c1.chosen, last);
  std::istringstream lines(text);
  std::string line, edited;
  while (std::getline(lines, line)) {
    if (line.size() > 6 && line.compare(line.size() - 6, 6, "\tconv1") == 0) {
      // threads \t hash \t index \t variant \t node
      size_t a = line.find('\t'), b = line.find('\t', a + 1);
      line = line.substr(0, b + 1) + std::to_string(last) + "\t" + c1.variants[last] + "\tconv1";
    }
    edited += line + "\n";
  }
  write(path, edited);
  auto edited_session = create(reuse);
  ASSERT_TRUE(edited_session);
  const KernelChoice& e1 = edited_session->kernel_choices()[0];
  EXPECT_EQ(e1.source, ChoiceSource::kFile);
  EXPECT_EQ(e1.chosen, last);
  EXPECT_EQ(edited_session->profile_info()[0].choice, "file");
  testing::expect_close(run(*edited_session), run(*plain), 1e-4f);
}

TEST_F(SessionTune, OtherThreadCountsAreKeptAndNotUsed) {
  const std::string path = dir_ + "/t.tune";
  SessionOptions o;
  o.tune = true;
  o.tuning_file = path;
  ASSERT_TRUE(create(o));
  o.num_threads = 2;
  ASSERT_TRUE(create(o));
  const std::string text = read(path);
  EXPECT_NE(text.find("\n1\t"), std::string::npos) << text;
  EXPECT_NE(text.find("\n2\t"), std::string::npos) << text;

  write(path, "pocket-tuning 1\n" + text.substr(text.find("\n2\t") + 1));  // only the 2-thread entries
  SessionOptions reuse;
  reuse.tuning_file = path;
  auto s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "no entries for num_threads = 1")) << (s->notices().empty() ? "" : s->notices()[0]);
  for (const KernelChoice& c : s->kernel_choices()) EXPECT_EQ(c.source, ChoiceSource::kHeuristic);
}

TEST_F(SessionTune, StaleEntryIsIgnoredWithANotice) {
  const std::string path = dir_ + "/stale.tune";
  SessionOptions o;
  o.tune = true;
  o.tuning_file = path;
  ASSERT_TRUE(create(o));
  std::string text = read(path);
  const size_t at = text.find("\tconv1\n");
  ASSERT_NE(at, std::string::npos);
  const size_t line = text.rfind('\n', at) + 1;
  const size_t hash = text.find('\t', line) + 1;
  text[hash] = text[hash] == '0' ? '1' : '0';  // another hash: shapes, op or CPU changed
  write(path, text);
  SessionOptions reuse;
  reuse.tuning_file = path;
  auto s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "'conv1' is stale"));
  EXPECT_EQ(s->kernel_choices()[0].source, ChoiceSource::kHeuristic);
  EXPECT_EQ(s->kernel_choices()[1].source, ChoiceSource::kFile);
}

TEST_F(SessionTune, UnknownVariantIsIgnoredWithANotice) {
  const std::string path = dir_ + "/v.tune";
  SessionOptions o;
  o.tune = true;
  o.tuning_file = path;
  auto tuned = create(o);
  ASSERT_TRUE(tuned);
  std::string text = read(path);
  const std::string name = tuned->kernel_choices()[0].variants[tuned->kernel_choices()[0].chosen];
  const size_t at = text.find("\t" + name + "\tconv1\n");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at + 1, name.size(), "no.such.kernel");
  write(path, text);
  SessionOptions reuse;
  reuse.tuning_file = path;
  auto s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "no.such.kernel"));
  EXPECT_EQ(s->kernel_choices()[0].source, ChoiceSource::kHeuristic);
  auto plain = create({});
  EXPECT_EQ(s->kernel_choices()[0].chosen, plain->kernel_choices()[0].chosen);
}

TEST_F(SessionTune, CorruptFileIsIgnoredThenRewrittenByTuning) {
  const std::string path = dir_ + "/corrupt.tune";
  write(path, "pocket-tuning 1\n1\tnot-a-hash\t0\txnnpack\tconv1\n");
  SessionOptions reuse;
  reuse.tuning_file = path;
  auto s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "is corrupt (line 2"));
  for (const KernelChoice& c : s->kernel_choices()) EXPECT_EQ(c.source, ChoiceSource::kHeuristic);

  write(path, "pocket-tuning 7\n");
  s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "another format version"));

  SessionOptions o = reuse;
  o.tune = true;
  ASSERT_TRUE(create(o));
  s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->notices().empty());
  for (const KernelChoice& c : s->kernel_choices()) EXPECT_EQ(c.source, ChoiceSource::kFile);
}

TEST_F(SessionTune, ForeignFileIsRejectedAndNeverOverwritten) {
  const std::string path = dir_ + "/notes.txt";
  write(path, "my precious notes\n");
  for (bool tune : {false, true}) {
    SessionOptions o;
    o.tune = tune;
    o.tuning_file = path;
    auto s = Session::create(model_, o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("not a Pocket tuning file"), std::string::npos) << s.status().message();
  }
  EXPECT_EQ(read(path), "my precious notes\n");
  // A directory is not a tuning file either.
  SessionOptions o;
  o.tuning_file = dir_;
  auto s = Session::create(model_, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a regular file"), std::string::npos) << s.status().message();
}

TEST_F(SessionTune, MissingFileIsANoticeAndUnwritableFileAnError) {
  SessionOptions reuse;
  reuse.tuning_file = dir_ + "/absent.tune";
  auto s = create(reuse);
  ASSERT_TRUE(s);
  EXPECT_TRUE(has_notice(*s, "does not exist"));

  SessionOptions o;
  o.tune = true;
  o.tuning_file = dir_ + "/no/such/dir/t.tune";
  auto bad = Session::create(model_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_NE(bad.status().message().find("no/such/dir/t.tune"), std::string::npos) << bad.status().message();
}

TEST_F(SessionTune, ResizeKeepsTheTuningOptions) {
  SessionOptions o;
  o.tune = true;
  auto s = create(o);
  ASSERT_TRUE(s);
  // Same shape: re-prepared and re-tuned; packed weights come from the model's cache.
  ASSERT_TRUE(s->resize_input("x", {1, 10, 10, 8}).ok());
  for (const KernelChoice& c : s->kernel_choices()) EXPECT_EQ(c.source, ChoiceSource::kTuned);
  auto plain = create({});
  testing::expect_close(run(*s), run(*plain), 1e-4f);
}

TEST_F(SessionTune, InputsSurviveRuns) {
  auto s = create({});
  ASSERT_TRUE(s);
  const std::vector<float> first = run(*s);
  s->run();  // no new input
  const Value& y = s->output(0);
  const std::vector<float> second(y.as<float>(), y.as<float>() + y.elements());
  EXPECT_EQ(first, second);
  const Value& x = s->input(0);
  EXPECT_EQ(std::vector<float>(x.as<float>(), x.as<float>() + x.elements()), input_);
}

TEST_F(SessionTune, AdaptiveThreadsGiveTheSameOutputsInEveryMode) {
  auto one = create({});
  SessionOptions o;
  o.num_threads = 2;
  auto two = create(o);
  ASSERT_TRUE(one && two);
  const std::vector<float> want = run(*one);
  // Enough runs for the session to probe the other mode at least once.
  for (int i = 0; i < 40; ++i) {
    const std::vector<float> got = run(*two);
    ASSERT_EQ(got.size(), want.size());
    testing::expect_close(got, want, 1e-5f);
  }
  EXPECT_LE(two->single_thread_runs(), 40);
  o.adaptive_threads = false;
  auto fixed = create(o);
  for (int i = 0; i < 5; ++i) run(*fixed);
  EXPECT_EQ(fixed->single_thread_runs(), 0);
}

}  // namespace
}  // namespace pocket
