// Pocket: a thin C++ layer over the C API (pocket/pocket.h). RAII handles, a Status with the
// code and message of the failing call, std::string/std::vector instead of raw pointers.
// Header-only; links against libpocket.a like the C API.
//
// Errors are returned, never thrown: every call that can fail returns a Status (code and the
// message pocket_last_error() gave). The only exceptions are the C++ standard library's own, from
// this header's std::string / std::vector copies (std::bad_alloc when memory runs out).
// Ownership and lifetimes are those of pocket.h: Model, Session and Pacer own their handle and
// free it on destruction (move-only); pointers returned by a Session (input_data, output_data)
// live until its next resize, or its destruction. Threads: a Model may be shared by any number
// of threads; a Session (and a Pacer over it) is used by one thread at a time.
//
//   pocket::api::Model model;
//   if (auto st = model.load("mnv3.pocket"); !st.ok()) { fprintf(stderr, "%s\n", st.message.c_str()); ... }
//   pocket::api::Session session;
//   session.create(model, /*num_threads=*/4);
//   session.set_input("input", POCKET_F32, {1, 3, 224, 224}, pixels);
//   session.run();
//   const float* logits = session.output<float>(0);
#ifndef POCKET_POCKET_HPP_
#define POCKET_POCKET_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pocket/pocket.h"

namespace pocket::api {

// The outcome of a call: POCKET_OK, or a code with the one-line message pocket_last_error() gave.
struct Status {
  pocket_status code = POCKET_OK;
  std::string message;

  bool ok() const { return code == POCKET_OK; }
  // Captures the thread's last error message when code is not POCKET_OK.
  static Status from(pocket_status code) {
    Status s;
    s.code = code;
    if (code != POCKET_OK) s.message = pocket_last_error();
    return s;
  }
  static Status error(pocket_status code, std::string message) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
  }
};

// "invalid argument", "invalid model", ...
inline const char* status_name(pocket_status code) {
  switch (code) {
    case POCKET_OK: return "ok";
    case POCKET_INVALID_ARGUMENT: return "invalid argument";
    case POCKET_INVALID_MODEL: return "invalid model";
    case POCKET_UNSUPPORTED: return "unsupported";
    case POCKET_IO_ERROR: return "I/O error";
    case POCKET_OUT_OF_MEMORY: return "out of memory";
    case POCKET_INTERNAL: return "internal error";
  }
  return "unknown status";
}

// Bytes per element (0 for packed int4).
inline size_t dtype_size(pocket_dtype dtype) {
  switch (dtype) {
    case POCKET_F32: case POCKET_I32: return 4;
    case POCKET_F16: case POCKET_BF16: return 2;
    case POCKET_I64: case POCKET_F64: return 8;
    case POCKET_I8: case POCKET_U8: case POCKET_BOOL: return 1;
    default: return 0;  // packed int4, or a dtype newer than this header
  }
}

// Numpy-style names: "float32", "int64", ...
inline const char* dtype_name(pocket_dtype dtype) {
  switch (dtype) {
    case POCKET_F32: return "float32";
    case POCKET_F16: return "float16";
    case POCKET_BF16: return "bfloat16";
    case POCKET_I64: return "int64";
    case POCKET_I32: return "int32";
    case POCKET_I8: return "int8";
    case POCKET_U8: return "uint8";
    case POCKET_I4: return "int4";
    case POCKET_BOOL: return "bool";
    case POCKET_F64: return "float64";
    default: return "unknown";
  }
}

// "[1,3,224,224]"
inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  s += ']';
  return s;
}

// An input's or output's description, copied out of the session (stays valid after a resize).
struct TensorInfo {
  std::string name;
  pocket_dtype dtype = POCKET_F32;
  std::vector<int64_t> shape;
  size_t bytes = 0;

  int64_t elements() const {  // product of the dims
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// A loaded, validated model. Move-only; sessions keep what they need, so a Model may be freed
// while sessions created from it are still in use.
class Model {
 public:
  Model() = default;
  ~Model() { reset(); }
  Model(Model&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Model& operator=(Model&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Maps and validates a .pocket file (replaces any model held before).
  Status load(const std::string& path) {
    reset();
    return Status::from(pocket_model_load(path.c_str(), &m_));
  }
  // Copies and validates an in-memory .pocket file.
  Status load_buffer(const void* data, size_t size) {
    reset();
    return Status::from(pocket_model_load_buffer(data, size, &m_));
  }

  bool loaded() const { return m_ != nullptr; }
  // The C handle (owned by this object), for the C API's other calls; nullptr when not loaded.
  const pocket_model* get() const { return m_; }

  // Class labels from the metadata (empty when none or not loaded).
  std::vector<std::string> labels() const {
    std::vector<std::string> out;
    const size_t n = pocket_model_num_labels(m_);
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const char* l = pocket_model_label(m_, i);
      out.emplace_back(l ? l : "");
    }
    return out;
  }

 private:
  void reset() {
    pocket_model_free(m_);
    m_ = nullptr;
  }
  pocket_model* m_ = nullptr;
};

// Session creation options (see pocket_session_options in pocket.h).
struct SessionOptions {
  int num_threads = 1;
  bool tune = false;             // time every kernel variant once, keep the fastest
  std::string tuning_file;       // "" or e.g. "model.pocket.tune": read; written when tune
  bool adaptive_threads = true;  // fall back to the calling thread while the pool is slower
  // Input shapes to start with (name -> shape; symbolic dims bound by name, see resize_inputs).
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;
  size_t memory_budget = 0;      // most bytes the session may use (MemoryReport total); 0: no limit
  size_t device_memory_budget = 0;  // most device bytes the backend may allocate; 0: no limit
  // Sustained mode: cap num_threads at sustained_max_threads, or (0) at half the cores, >= 1.
  bool sustained = false;
  int sustained_max_threads = 0;
  // Where nodes run: "cpu" (default), "vulkan" or "auto" (see pocket_session_options.backend).
  std::string backend = "cpu";
  bool backend_fp16 = false;      // fp16 storage on the backend where the device can
  bool backend_fp16_arithmetic = false;  // and fp16 arithmetic where the device can (implies fp16 storage)
  bool backend_required = false;  // "vulkan" that cannot be used is an error, not a CPU fallback
  std::string pipeline_cache_file;  // "" or e.g. "model.pocket.vkcache"
};

// Execution state for one model; use from one thread at a time. Move-only.
class Session {
 public:
  Session() = default;
  ~Session() { reset(); }
  Session(Session&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session& operator=(Session&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Prepares every op and plans memory (replaces any session held before).
  Status create(const Model& model, int num_threads = 1) {
    SessionOptions o;
    o.num_threads = num_threads;
    return create(model, o);
  }
  Status create(const Model& model, const SessionOptions& o) {
    reset();
    if (!model.loaded()) return Status::error(POCKET_INVALID_ARGUMENT, "session needs a loaded model");
    pocket_session_options options;
    pocket_session_options_init(&options);
    options.num_threads = o.num_threads;
    options.tune = o.tune ? 1 : 0;
    options.tuning_file = o.tuning_file.empty() ? nullptr : o.tuning_file.c_str();
    options.adaptive_threads = o.adaptive_threads ? 1 : 0;
    options.memory_budget = o.memory_budget;
    options.device_memory_budget = o.device_memory_budget;
    options.sustained = o.sustained ? 1 : 0;
    options.sustained_max_threads = o.sustained_max_threads;
    options.backend = o.backend.c_str();
    options.backend_fp16 = o.backend_fp16_arithmetic ? 2 : (o.backend_fp16 ? 1 : 0);
    options.backend_required = o.backend_required ? 1 : 0;
    options.pipeline_cache_file = o.pipeline_cache_file.empty() ? nullptr : o.pipeline_cache_file.c_str();
    std::vector<const char*> names;
    std::vector<const int64_t*> shapes;
    std::vector<int32_t> ranks;
    for (const auto& [name, shape] : o.input_shapes) {
      names.push_back(name.c_str());
      shapes.push_back(shape.data());
      ranks.push_back(static_cast<int32_t>(shape.size()));
    }
    options.num_input_shapes = names.size();
    options.input_shape_names = names.data();
    options.input_shapes = shapes.data();
    options.input_shape_ranks = ranks.data();
    return Status::from(pocket_session_create(model.get(), &options, &s_));
  }
  // Non-error remarks from creation (stale tuning entries, ...), one per element.
  std::vector<std::string> notices() const {
    std::vector<std::string> out;
    const char* text = pocket_session_notices(s_);
    std::string all = text ? text : "";
    size_t start = 0;
    while (start < all.size()) {
      size_t nl = all.find('\n', start);
      if (nl == std::string::npos) nl = all.size();
      out.push_back(all.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  }

  // What runs where (backend, decision, subgraphs, transfers, nodes left on the CPU), several lines.
  std::string partition_summary() const { return pocket_session_partition_summary(s_); }

  bool created() const { return s_ != nullptr; }
  // The C handle (owned by this object); nullptr when not created.
  pocket_session* get() const { return s_; }

  // 0 when no session.
  size_t num_inputs() const { return pocket_session_num_inputs(s_); }
  size_t num_outputs() const { return pocket_session_num_outputs(s_); }
  // The thread count used (num_threads after sustained mode's cap); 0 when no session.
  int num_threads() const { return pocket_session_num_threads(s_); }

  Status input_info(size_t index, TensorInfo* info) const {
    pocket_tensor_info c;
    Status st = Status::from(pocket_session_input_info(s_, index, &c));
    if (st.ok()) *info = to_info(c);
    return st;
  }
  Status output_info(size_t index, TensorInfo* info) const {
    pocket_tensor_info c;
    Status st = Status::from(pocket_session_output_info(s_, index, &c));
    if (st.ok()) *info = to_info(c);
    return st;
  }
  // All inputs/outputs, in model order (empty when no session).
  std::vector<TensorInfo> inputs() const {
    std::vector<TensorInfo> v(num_inputs());
    for (size_t i = 0; i < v.size(); ++i) (void)input_info(i, &v[i]);
    return v;
  }
  std::vector<TensorInfo> outputs() const {
    std::vector<TensorInfo> v(num_outputs());
    for (size_t i = 0; i < v.size(); ++i) (void)output_info(i, &v[i]);
    return v;
  }

  // Copies an input in; dtype and shape must match (the message names the input and both).
  Status set_input(const std::string& name, pocket_dtype dtype, const std::vector<int64_t>& shape,
                   const void* data) {
    return Status::from(pocket_session_set_input(s_, name.c_str(), dtype, shape.data(),
                                                 static_cast<int32_t>(shape.size()), data));
  }
  // The input's buffer inside the session, to write in place before run(); nullptr on error.
  void* input_data(size_t index) {
    void* p = nullptr;
    return pocket_session_input_data(s_, index, &p) == POCKET_OK ? p : nullptr;
  }
  // New input shape; re-plans the session. Input contents are not kept. Symbolic dims are bound
  // by name: other inputs' dims of the same name (e.g. "seq") take the same size.
  Status resize_input(const std::string& name, const std::vector<int64_t>& shape) {
    return Status::from(pocket_session_resize_input(s_, name.c_str(), shape.data(),
                                                    static_cast<int32_t>(shape.size())));
  }
  // Several inputs, one re-plan.
  Status resize_inputs(const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes) {
    std::vector<const char*> names;
    std::vector<const int64_t*> dims;
    std::vector<int32_t> ranks;
    for (const auto& [name, shape] : shapes) {
      names.push_back(name.c_str());
      dims.push_back(shape.data());
      ranks.push_back(static_cast<int32_t>(shape.size()));
    }
    return Status::from(pocket_session_resize_inputs(s_, names.size(), names.data(), dims.data(), ranks.data()));
  }
  // Runs the model on the current inputs (fails only without a session).
  Status run() { return Status::from(pocket_session_run(s_)); }

  // An output's buffer, valid until the next run, resize or destruction; nullptr on error.
  const void* output_data(size_t index) const {
    const void* p = nullptr;
    return pocket_session_output_data(s_, index, &p) == POCKET_OK ? p : nullptr;
  }
  template <class T>
  const T* output(size_t index) const {
    return static_cast<const T*>(output_data(index));
  }
  // Bytes of the activation arena (0 when no session).
  size_t arena_bytes() const { return pocket_session_arena_bytes(s_); }
  // Every byte the session uses, by kind (pocket_memory_report).
  Status memory(pocket_memory_report* report) const { return Status::from(pocket_session_memory(s_, report)); }

 private:
  static TensorInfo to_info(const pocket_tensor_info& c) {
    TensorInfo t;
    t.name = c.name ? c.name : "";
    t.dtype = c.dtype;
    t.shape.assign(c.shape, c.shape + c.rank);
    t.bytes = c.bytes;
    return t;
  }
  void reset() {
    pocket_session_free(s_);
    s_ = nullptr;
  }
  pocket_session* s_ = nullptr;
};

// Pacer options (see pocket_pacer_options in pocket.h).
struct PacerOptions {
  std::chrono::nanoseconds min_interval{0};  // at most one run per interval (start to start); 0: none
  double duty_cycle = 1.0;                   // (0, 1]: busy at most this fraction of the time
  std::function<int64_t()> clock;            // monotonic nanoseconds; empty: the system's clock
};

// Runs a Session at most once per min_interval and within the duty cycle, reusing the previous
// result otherwise (pocket_pacer_run). The Session must outlive the Pacer. Move-only.
class Pacer {
 public:
  Pacer() = default;
  ~Pacer() { reset(); }
  Pacer(Pacer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), clock_(std::move(o.clock_)) {}
  Pacer& operator=(Pacer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      clock_ = std::move(o.clock_);
    }
    return *this;
  }
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // Wraps session (replaces any pacer held before).
  Status create(Session& session, PacerOptions o) {
    reset();
    pocket_pacer_options options;
    pocket_pacer_options_init(&options);
    options.min_interval_ns = static_cast<int64_t>(o.min_interval.count());
    options.duty_cycle = o.duty_cycle;
    if (o.clock) {
      clock_ = std::make_unique<std::function<int64_t()>>(std::move(o.clock));
      options.clock = [](void* c) -> int64_t { return (*static_cast<std::function<int64_t()>*>(c))(); };
      options.clock_context = clock_.get();
    }
    return Status::from(pocket_pacer_create(session.get(), &options, &p_));
  }
  bool created() const { return p_ != nullptr; }

  // Runs the session when allowed, or force; *ran (may be null) says whether it ran or the
  // outputs hold the previous result.
  Status run(bool force = false, bool* ran = nullptr) {
    pocket_pace_result r = POCKET_PACE_REUSED;
    Status st = Status::from(pocket_pacer_run(p_, force ? 1 : 0, &r));
    if (ran) *ran = st.ok() && r == POCKET_PACE_RAN;
    return st;
  }
  // Counters and the time of the next unforced run (zeros when no pacer).
  pocket_pacer_stats stats() const {
    pocket_pacer_stats s{};
    if (p_) (void)pocket_pacer_get_stats(p_, &s);
    return s;
  }

 private:
  void reset() {
    pocket_pacer_free(p_);
    p_ = nullptr;
    clock_.reset();
  }
  pocket_pacer* p_ = nullptr;
  std::unique_ptr<std::function<int64_t()>> clock_;  // stable address: the C clock's context
};

}  // namespace pocket::api

#endif  // POCKET_POCKET_HPP_
