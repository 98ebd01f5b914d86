// Per-thread execution state for one Model. Creation does everything that can fail: shape
// inference and op prepare (kernel choice, weight packing), the arena plan, binding. run() only
// runs: no allocation, no I/O, no failure paths.
#pragma once

#include <pthreadpool.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/op.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace pocket {

struct SessionOptions {
  int num_threads = 1;  // 1 runs on the calling thread; N > 1 creates a pthreadpool of N
};

struct OpProfile {
  std::string op;       // "Conv"
  std::string name;     // node name
  std::string kernel;   // chosen kernel
  Shape output_shape;
  int64_t flops = 0;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  // Inputs live in the arena: write through input(i).data, or use set_input().
  Value& input(size_t i) { return values_[inputs_[i]]; }
  const Value& output(size_t i) const { return values_[outputs_[i]]; }
  int find_input(std::string_view name) const;   // -1 if absent
  int find_output(std::string_view name) const;

  // Copies data in after checking dtype and shape against the input; the error names both.
  Status set_input(std::string_view name, DType dtype, const Shape& shape, const void* data);
  // Gives an input a new shape (symbolic dims, other image sizes): re-infers shapes, re-prepares
  // and re-plans. Input contents are not kept.
  Status resize_input(std::string_view name, const Shape& shape);

  void run();
  // Same, recording each op's wall time in seconds into op_seconds (resized to num ops).
  void run_profiled(std::vector<double>& op_seconds);

  std::vector<OpProfile> profile_info() const;
  size_t arena_bytes() const { return arena_bytes_; }
  size_t arena_lower_bound() const { return arena_lower_bound_; }
  int num_threads() const { return options_.num_threads; }
  const Model& model() const { return *model_; }

 private:
  Session() = default;
  Status prepare_all();

  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  pthreadpool_t pool_ = nullptr;
  std::vector<Value> values_;
  std::vector<int32_t> inputs_, outputs_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<OpContext> contexts_;
  void* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  size_t arena_lower_bound_ = 0;
};

}  // namespace pocket
