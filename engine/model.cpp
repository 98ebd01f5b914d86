#include "engine/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "format/format.h"

namespace pocket {

namespace {

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxTables = 10'000'000;

bool valid_dtype(fb::DType d) {
  return static_cast<int>(d) >= static_cast<int>(fb::DType::MIN) &&
         static_cast<int>(d) <= static_cast<int>(fb::DType::MAX);
}

// Bytes a tensor of this dtype and element count occupies; -1 on overflow.
int64_t data_bytes(fb::DType d, int64_t elements) {
  if (elements < 0) return -1;
  if (d == fb::DType::I4) return (elements + 1) / 2;
  int64_t s = static_cast<int64_t>(dtype_size(d));
  if (elements > INT64_MAX / s) return -1;
  return elements * s;
}

std::string tensor_label(const fb::Tensor* t, size_t i) {
  return "tensor " + std::to_string(i) + (t && t->name() ? " '" + t->name()->str() + "'" : "");
}

// FlatBuffers 2.0.8's verifier checks a vector's 4-byte length prefix but not that 8-byte
// elements are 8-byte aligned: a corrupt offset can place a [long] vector at 4 mod 8, and reading
// it is undefined behaviour. The buffer itself is 64-byte aligned (mmap or aligned copy). An empty
// vector may sit anywhere (the builder aligns only vectors with elements).
bool aligned_longs(const flatbuffers::Vector<int64_t>* v) {
  return !v || v->size() == 0 || reinterpret_cast<uintptr_t>(v->data()) % alignof(int64_t) == 0;
}

// Tensor quantization (format 1.2, format/OPS.md "Quantization"): I8 only; scales finite and
// > 0; zero points in [-128, 127], none or one per scale; per tensor (axis -1, one scale) or per
// axis (scales.size() == shape[axis], a static dim); no blocks. Per-op rules (symmetric weights,
// per-tensor activations) are checked by the ops at prepare.
Status validate_quantization(const fb::Tensor* t, size_t i) {
  const fb::Quantization* q = t->quantization();
  const std::string label = tensor_label(t, i);
  if (t->dtype() != fb::DType::I8)
    return invalid_model(label + " has quantization parameters but dtype " + dtype_name(t->dtype()) +
                         " (only int8 tensors are quantized)");
  const size_t ns = q->scales() ? q->scales()->size() : 0;
  if (ns == 0) return invalid_model(label + " has quantization without scales");
  for (size_t k = 0; k < ns; ++k) {
    const float s = q->scales()->Get(static_cast<flatbuffers::uoffset_t>(k));
    if (!std::isfinite(s) || !(s > 0.f))
      return invalid_model(label + " has quantization scale " + std::to_string(s) + " at index " + std::to_string(k) +
                           " (scales must be finite and > 0)");
  }
  if (!aligned_longs(q->zero_points())) return invalid_model(label + " has misaligned quantization zero points");
  if (q->zero_points() && q->zero_points()->size() != 0) {
    if (q->zero_points()->size() != ns)
      return invalid_model(label + " has " + std::to_string(q->zero_points()->size()) + " quantization zero points for " +
                           std::to_string(ns) + " scales");
    for (size_t k = 0; k < ns; ++k) {
      const int64_t z = q->zero_points()->Get(static_cast<flatbuffers::uoffset_t>(k));
      if (z < -128 || z > 127)
        return invalid_model(label + " has quantization zero point " + std::to_string(z) + " at index " +
                             std::to_string(k) + " (int8 zero points lie in [-128, 127])");
    }
  }
  const int rank = static_cast<int>(t->shape()->size());
  if (q->axis() == -1) {
    if (ns != 1)
      return invalid_model(label + " has per-tensor quantization (axis -1) with " + std::to_string(ns) + " scales");
  } else {
    if (q->axis() < -1 || q->axis() >= rank)
      return invalid_model(label + " has quantization axis " + std::to_string(q->axis()) + " out of range for rank " +
                           std::to_string(rank));
    const int64_t d = t->shape()->Get(static_cast<flatbuffers::uoffset_t>(q->axis()));
    if (d < 0 || static_cast<int64_t>(ns) != d)
      return invalid_model(label + " has " + std::to_string(ns) + " quantization scales along axis " +
                           std::to_string(q->axis()) + " of size " + std::to_string(d));
  }
  if (q->block_size() != 0)
    return invalid_model(label + " has quantization block_size " + std::to_string(q->block_size()) +
                         " (block quantization is not supported)");
  return Status::Ok();
}

// How many inputs (slots, including optional ones left out as -1) and outputs each op may have,
// as the ops' prepare() documents them; checked at load so that an error names the node before
// any op sees it (prepare() checks again, and never reads past ctx.inputs).
struct Arity {
  uint16_t min_in, max_in, min_out, max_out;
};
constexpr uint16_t kMany = 4096;

Arity arity_of(fb::OpType op) {
  using T = fb::OpType;
  switch (op) {
    case T::Conv: return {2, 4, 1, 1};  // X, W, [B], [residual]
    case T::ConvTranspose: return {2, 3, 1, 1};
    case T::MaxPool: return {1, 1, 1, 2};  // a second output (indices) is refused by the op
    case T::AveragePool: case T::GlobalAveragePool: case T::GlobalMaxPool: case T::LRN: return {1, 1, 1, 1};
    case T::Gemm: case T::MatMul: return {2, 4, 1, 1};  // A, B, [bias], [residual]
    case T::Add: case T::Sub: case T::Mul: case T::Div: case T::Pow: case T::PRelu: return {2, 2, 1, 1};
    case T::Sum: case T::Max: case T::Min: return {1, kMany, 1, 1};
    case T::Relu: case T::LeakyRelu: case T::Elu: case T::Selu: case T::Sigmoid: case T::HardSigmoid:
    case T::HardSwish: case T::Tanh: case T::Softplus: case T::Softsign: case T::Clip: case T::Exp: case T::Log:
    case T::Sqrt: case T::Neg: case T::Abs: case T::Erf: case T::Reciprocal: case T::Floor: case T::Ceil:
    case T::SiLU: case T::Softmax: case T::LogSoftmax: case T::Gelu: case T::Not:
      return {1, 1, 1, 1};
    case T::InstanceNormalization: return {3, 3, 1, 1};
    case T::Concat: return {1, kMany, 1, 1};
    case T::Split: return {1, 2, 1, kMany};
    case T::Slice: return {1, 5, 1, 1};
    case T::Reshape: case T::Squeeze: case T::Unsqueeze: return {1, 2, 1, 1};
    case T::Flatten: case T::Transpose: case T::DepthToSpace: case T::SpaceToDepth: case T::Resize: case T::Cast:
    case T::Identity: case T::Shape: case T::ArgMax: case T::ArgMin:
      return {1, 1, 1, 1};
    case T::ReduceMean: case T::ReduceSum: case T::ReduceMax: case T::ReduceMin: case T::ReduceProd:
    case T::ReduceL2:
      return {1, 1, 1, 1};
    case T::Gather: return {2, 2, 1, 1};
    case T::Pad: return {1, 3, 1, 1};
    case T::Tile: case T::Expand: case T::Trilu: return {1, 2, 1, 1};
    case T::ConstantOfShape: return {0, 1, 1, 1};
    case T::SqueezeExcite: return {4, 5, 1, 1};
    case T::LayerNormalization: return {2, 3, 1, 1};
    case T::RMSNormalization: return {1, 2, 1, 1};
    case T::Attention: return {3, 4, 1, 1};
    case T::Where: case T::Range: case T::ScatterND: case T::ScatterElements: return {3, 3, 1, 1};
    case T::Equal: case T::Less: case T::Greater: case T::LessOrEqual: case T::GreaterOrEqual: case T::And:
    case T::Or: case T::Xor:
      return {2, 2, 1, 1};
    case T::QuantizeLinear: case T::DequantizeLinear: return {1, 1, 1, 1};
  }
  return {0, kMany, 1, kMany};
}

std::string count_range(uint16_t lo, uint16_t hi) {
  if (lo == hi) return std::to_string(lo);
  if (hi == kMany) return "at least " + std::to_string(lo);
  return std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

Model::~Model() {
  if (!bytes_) return;
  if (mapped_) munmap(const_cast<uint8_t*>(bytes_), size_);
  else std::free(const_cast<uint8_t*>(bytes_));
}

Result<std::shared_ptr<const Model>> Model::load_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open model file '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return io_error("'" + path + "' is not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 16) {
    close(fd);
    return invalid_model("'" + path + "' is too small to be a .pocket model (" + std::to_string(size) + " bytes)");
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return io_error("cannot map '" + path + "': " + std::strerror(errno));
  std::unique_ptr<Model> m(new Model());
  m->bytes_ = static_cast<const uint8_t*>(p);
  m->size_ = size;
  m->mapped_ = true;
  auto r = finish(std::move(m));
  if (!r.ok()) return Status(r.status().code(), "'" + path + "': " + r.status().message());
  return r;
}

Result<std::shared_ptr<const Model>> Model::load_buffer(const void* data, size_t size) {
  if (!data || size < 16) return invalid_model("buffer is too small to be a .pocket model (" + std::to_string(size) + " bytes)");
  void* copy = std::aligned_alloc(format::kWeightAlignment, format::align_up(size, format::kWeightAlignment));
  if (!copy) return Status(StatusCode::kOutOfMemory, "cannot allocate a copy of the model");
  std::memcpy(copy, data, size);
  std::unique_ptr<Model> m(new Model());
  m->bytes_ = static_cast<const uint8_t*>(copy);
  m->size_ = size;
  return finish(std::move(m));
}

Result<std::shared_ptr<const Model>> Model::finish(std::unique_ptr<Model> m) {
  if (!flatbuffers::BufferHasIdentifier(m->bytes_, format::kFileIdentifier, /*size_prefixed=*/true))
    return invalid_model("not a .pocket model (file identifier is not PCKT)");
  uint32_t fb_size = flatbuffers::ReadScalar<uint32_t>(m->bytes_);
  if (fb_size > m->size_ - sizeof(uint32_t))
    return invalid_model("model header claims " + std::to_string(fb_size) + " bytes but the file has " + std::to_string(m->size_));
  flatbuffers::Verifier verifier(m->bytes_, fb_size + sizeof(uint32_t), kMaxDepth, kMaxTables);
  if (!fb::VerifySizePrefixedModelBuffer(verifier))
    return invalid_model("model structure failed verification (corrupt or truncated file)");
  m->model_ = fb::GetSizePrefixedModel(m->bytes_);
  POCKET_RETURN_IF_ERROR(m->validate());
  return std::shared_ptr<const Model>(std::move(m));
}

Status Model::validate() const {
  const fb::Model& md = *model_;
  if (md.format_major() != format::kFormatMajor)
    return unsupported("format version " + std::to_string(md.format_major()) + "." +
                       std::to_string(md.format_minor()) + " is not readable by this engine (reads " +
                       std::to_string(format::kFormatMajor) + ".x)");
  const uint64_t header_end = flatbuffers::ReadScalar<uint32_t>(bytes_) + sizeof(uint32_t);
  const uint64_t w_off = md.weights_offset(), w_size = md.weights_size();
  if (w_off % format::kWeightAlignment != 0 || w_off < header_end || w_off > size_ || w_size > size_ - w_off)
    return invalid_model("weight segment [" + std::to_string(w_off) + ", +" + std::to_string(w_size) +
                         ") lies outside the file of " + std::to_string(size_) + " bytes");
  const fb::Graph* g = md.graph();
  if (!g || !g->tensors() || !g->nodes() || !g->inputs() || !g->outputs()) return invalid_model("model has no graph");
  const size_t nt = g->tensors()->size();
  if (nt > INT32_MAX) return invalid_model("too many tensors");

  std::vector<int8_t> defined(nt, 0);  // constant or produced so far
  for (size_t i = 0; i < nt; ++i) {
    const fb::Tensor* t = g->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!t || !t->name()) return invalid_model(tensor_label(t, i) + " has no name");
    if (!valid_dtype(t->dtype())) return invalid_model(tensor_label(t, i) + " has an unknown dtype");
    if (!t->shape()) return invalid_model(tensor_label(t, i) + " has no shape");
    if (!aligned_longs(t->shape())) return invalid_model(tensor_label(t, i) + " has a misaligned shape vector");
    if (t->shape()->size() > 8) return invalid_model(tensor_label(t, i) + " has rank " + std::to_string(t->shape()->size()) + " (at most 8)");
    for (int64_t d : *t->shape())
      if (d < -1) return invalid_model(tensor_label(t, i) + " has a negative dimension");
    if (t->dim_names() && t->dim_names()->size() != 0 && t->dim_names()->size() != t->shape()->size())
      return invalid_model(tensor_label(t, i) + " has " + std::to_string(t->dim_names()->size()) + " dimension names for rank " + std::to_string(t->shape()->size()));
    {
      // Declared shapes (symbolic dims counted as 1) must have a byte size that fits int64, so that
      // no size computed from them overflows (a session may still find them too large to plan).
      Shape s;
      for (int64_t d : *t->shape()) s.push_back(d < 0 ? 1 : d);
      const int64_t n = num_elements(s);
      const int64_t es = static_cast<int64_t>(std::max<size_t>(dtype_size(t->dtype()), 1));
      if (n < 0 || n > INT64_MAX / es)
        return invalid_model(tensor_label(t, i) + " has shape " + shape_str(Shape(t->shape()->begin(), t->shape()->end())) +
                             ", too large (its size overflows 64 bits)");
    }
    if (t->quantization()) POCKET_RETURN_IF_ERROR(validate_quantization(t, i));
    if (t->has_data()) {
      Shape s(t->shape()->begin(), t->shape()->end());
      int64_t want = data_bytes(t->dtype(), num_elements(s));
      if (want < 0) return invalid_model(tensor_label(t, i) + " constant has a symbolic or overflowing shape " + shape_str(s));
      if (t->data_size() != static_cast<uint64_t>(want))
        return invalid_model(tensor_label(t, i) + " holds " + std::to_string(t->data_size()) + " bytes but " +
                             dtype_name(t->dtype()) + shape_str(s) + " needs " + std::to_string(want));
      if (t->data_offset() % format::kWeightAlignment != 0 || t->data_offset() > w_size ||
          t->data_size() > w_size - t->data_offset())
        return invalid_model(tensor_label(t, i) + " data lies outside the weight segment");
      defined[i] = 1;
    }
  }
  auto check_index = [&](int32_t idx, const char* what) -> Status {
    if (idx < 0 || static_cast<size_t>(idx) >= nt)
      return invalid_model(std::string(what) + " refers to tensor " + std::to_string(idx) + " of " + std::to_string(nt));
    return Status::Ok();
  };
  for (int32_t idx : *g->inputs()) {
    POCKET_RETURN_IF_ERROR(check_index(idx, "graph input"));
    if (defined[idx]) return invalid_model("graph input " + tensor_label(g->tensors()->Get(idx), idx) + " is a constant");
    defined[idx] = 1;
  }
  for (size_t n = 0; n < g->nodes()->size(); ++n) {
    const fb::Node* node = g->nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
    std::string label = "node " + std::to_string(n) + (node && node->name() ? " '" + node->name()->str() + "'" : "");
    if (!node || !node->inputs() || !node->outputs()) return invalid_model(label + " has no inputs/outputs list");
    int op = static_cast<int>(node->op());
    if (op < static_cast<int>(fb::OpType::MIN) || op > static_cast<int>(fb::OpType::MAX))
      return invalid_model(label + " has unknown op code " + std::to_string(op));
    if (node->inputs()->size() > kMany || node->outputs()->size() > kMany || node->outputs()->size() == 0)
      return invalid_model(label + " has an unreasonable number of inputs or outputs");
    const Arity ar = arity_of(node->op());
    const size_t ni = node->inputs()->size(), no = node->outputs()->size();
    if (ni < ar.min_in || ni > ar.max_in || no < ar.min_out || no > ar.max_out)
      return invalid_model(label + " (" + fb::EnumNameOpType(node->op()) + ") has " + std::to_string(ni) + " inputs and " +
                           std::to_string(no) + " outputs; " + fb::EnumNameOpType(node->op()) + " takes " +
                           count_range(ar.min_in, ar.max_in) + " inputs and " + count_range(ar.min_out, ar.max_out) +
                           " outputs");
    if (node->attributes()) {
      for (const fb::Attribute* a : *node->attributes()) {
        if (!a || !a->name()) return invalid_model(label + " has an attribute without a name");
        int at = static_cast<int>(a->type());
        if (at < static_cast<int>(fb::AttrType::MIN) || at > static_cast<int>(fb::AttrType::MAX))
          return invalid_model(label + " attribute '" + a->name()->str() + "' has an unknown type");
        if (!aligned_longs(a->ints()))
          return invalid_model(label + " attribute '" + a->name()->str() + "' has a misaligned integer list");
      }
    }
    for (int32_t idx : *node->inputs()) {
      if (idx == -1) continue;
      POCKET_RETURN_IF_ERROR(check_index(idx, (label + " input").c_str()));
      if (!defined[idx]) return invalid_model(label + " reads " + tensor_label(g->tensors()->Get(idx), idx) + " before it is produced");
    }
    for (int32_t idx : *node->outputs()) {
      POCKET_RETURN_IF_ERROR(check_index(idx, (label + " output").c_str()));
      if (defined[idx]) return invalid_model(label + " writes " + tensor_label(g->tensors()->Get(idx), idx) + ", which is already defined");
      defined[idx] = 1;
    }
  }
  for (int32_t idx : *g->outputs()) {
    POCKET_RETURN_IF_ERROR(check_index(idx, "graph output"));
    if (!defined[idx]) return invalid_model("graph output " + tensor_label(g->tensors()->Get(idx), idx) + " is never produced");
  }
  if (const fb::Metadata* meta = md.metadata()) {
    if (const fb::Preprocessing* p = meta->preprocessing()) {
      auto finite = [](const flatbuffers::Vector<float>* v, bool nonzero) {
        if (!v) return true;
        for (float x : *v)
          if (!std::isfinite(x) || (nonzero && x == 0.f)) return false;
        return true;
      };
      if (p->width() < 0 || p->width() > 65536 || p->height() < 0 || p->height() > 65536)
        return invalid_model("metadata preprocessing size " + std::to_string(p->width()) + "x" + std::to_string(p->height()) +
                             " is out of range (0..65536)");
      if (!std::isfinite(p->scale()) || (p->mean() && p->mean()->size() > 64) || (p->std() && p->std()->size() > 64) ||
          !finite(p->mean(), false) || !finite(p->std(), true))
        return invalid_model("metadata preprocessing scale, mean or std is not finite, zero (std) or too long (at most 64 channels)");
    }
    if (meta->labels())
      for (auto* l : *meta->labels())
        if (!l) return invalid_model("metadata has a missing label string");
    if (meta->properties())
      for (auto* kv : *meta->properties())
        if (!kv || !kv->key()) return invalid_model("metadata has a property without a key");
    if (const fb::Tokenizer* t = meta->tokenizer()) {
      const std::string kind = t->kind() ? t->kind()->str() : "";
      if (kind != "wordpiece" && kind != "bytelevel_bpe")
        return invalid_model("metadata tokenizer kind '" + kind + "' is not 'wordpiece' or 'bytelevel_bpe'");
      const int64_t nv = t->vocab() ? t->vocab()->size() : 0;
      if (nv == 0) return invalid_model("metadata tokenizer has no vocabulary");
      for (auto* v : *t->vocab())
        if (!v) return invalid_model("metadata tokenizer vocabulary has a missing string");
      if (t->merges())
        for (auto* m : *t->merges())
          if (!m) return invalid_model("metadata tokenizer merges have a missing string");
      if (t->special_tokens())
        for (auto* kv : *t->special_tokens())
          if (!kv || !kv->key() || !kv->value()) return invalid_model("metadata tokenizer has a special token without a role or text");
      if (t->max_length() < 2) return invalid_model("metadata tokenizer max_length " + std::to_string(t->max_length()) + " is below 2");
      if (t->suppress_tokens())
        for (int32_t id : *t->suppress_tokens())
          if (id < 0 || id >= nv)
            return invalid_model("metadata tokenizer suppress token " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(nv));
    }
    if (const fb::AudioFrontEnd* a = meta->audio()) {
      const std::string kind = a->kind() ? a->kind()->str() : "";
      if (kind != "whisper_log_mel") return invalid_model("metadata audio front end kind '" + kind + "' is not 'whisper_log_mel'");
      if (a->sample_rate() < 1000 || a->sample_rate() > 384000 || a->n_fft() < 16 || a->n_fft() > 65536 ||
          a->hop_length() < 1 || a->hop_length() > a->n_fft() || a->n_mels() < 1 || a->n_mels() > 1024 ||
          a->chunk_seconds() < 1 || a->chunk_seconds() > 3600)
        return invalid_model("metadata audio front end parameters are out of range (sample_rate " + std::to_string(a->sample_rate()) +
                             ", n_fft " + std::to_string(a->n_fft()) + ", hop_length " + std::to_string(a->hop_length()) +
                             ", n_mels " + std::to_string(a->n_mels()) + ", chunk_seconds " + std::to_string(a->chunk_seconds()) + ")");
    }
  }
  return Status::Ok();
}

const void* Model::tensor_data(int32_t i) const {
  const fb::Tensor* t = graph().tensors()->Get(i);
  if (!t->has_data()) return nullptr;
  return bytes_ + model_->weights_offset() + t->data_offset();
}

std::vector<std::string> Model::labels() const {
  std::vector<std::string> out;
  if (metadata() && metadata()->labels())
    for (auto* l : *metadata()->labels()) out.push_back(l->str());
  return out;
}

std::string Model::property(const std::string& key) const {
  if (!metadata() || !metadata()->properties()) return "";
  for (auto* kv : *metadata()->properties())
    if (kv->key()->str() == key) return kv->value() ? kv->value()->str() : "";
  return "";
}

}  // namespace pocket
