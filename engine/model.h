// An immutable loaded model: the file mapped read-only, verified and validated. Shareable between
// threads and sessions; constant tensors are used in place from the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/weight_cache.h"
#include "format/pocket_generated.h"

namespace pocket {

class Model {
 public:
  // mmap + FlatBuffers verification + semantic validation.
  static Result<std::shared_ptr<const Model>> load_file(const std::string& path);
  // Copies the bytes into 64-byte-aligned memory, then verifies and validates.
  static Result<std::shared_ptr<const Model>> load_buffer(const void* data, size_t size);

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const fb::Model& fb() const { return *model_; }
  const fb::Graph& graph() const { return *model_->graph(); }
  const fb::Metadata* metadata() const { return model_->metadata(); }
  // Constant data of tensor i (nullptr for non-constants).
  const void* tensor_data(int32_t i) const;
  size_t file_size() const { return size_; }

  // Convenience views of the metadata.
  std::vector<std::string> labels() const;
  std::string property(const std::string& key) const;  // "" when absent
  // Packed weights shared by this model's sessions (see weight_cache.h).
  WeightCache& weight_cache() const { return cache_; }

 private:
  Model() = default;
  static Result<std::shared_ptr<const Model>> finish(std::unique_ptr<Model> m);
  Status validate() const;

  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;        // munmap vs free
  const fb::Model* model_ = nullptr;
  mutable WeightCache cache_;
};

}  // namespace pocket
