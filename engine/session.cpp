#include "engine/session.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>
#if defined(__GLIBC__) || defined(__ANDROID__)
#include <malloc.h>
#endif

#include "engine/memory_plan.h"
#include "engine/packed_weights_collector.h"
#include "engine/pacing.h"
#include "format/format.h"
#include "kernels/cpu_features.h"
#include "kernels/transform/transform.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ---- Tuning file -------------------------------------------------------------------------------
//
//   pocket-tuning 1
//   # threads <TAB> hash <TAB> variant index <TAB> variant name <TAB> node
//   1	9f0c3a5e2b7d4411	0	pocket.winograd	/layer1/layer1.0/conv1/Conv
//
// One line per op with a choice and thread count. The hash covers the op type, every input's
// dtype, shape and constness, the thread count and the CPU's ISA: when any of them changes, the
// entry is stale. The node is the node's name, or "#<index>" when the name is empty, repeated or
// holds a tab or line break.

constexpr const char* kTuningMagic = "pocket-tuning";
constexpr int kTuningVersion = 1;

struct TuningEntry {
  int threads = 0;
  uint64_t hash = 0;
  int index = 0;
  std::string variant, node;
};

struct TuningFile {
  std::vector<TuningEntry> entries;  // empty when the file is missing or was ignored
};

std::string isa_name() {
  const kernels::CpuFeatures& f = kernels::cpu_features();
#if defined(__x86_64__) || defined(__i386__)
  std::string s = "x86";
#elif defined(__aarch64__)
  std::string s = "arm64";
#else
  std::string s = "other";
#endif
  if (f.avx2_fma) s += "+avx2";
  if (f.avx512) s += "+avx512";
  if (f.avx512vnni) s += "+avx512vnni";
  if (f.neon) s += "+neon";
  if (f.neon_dot) s += "+dot";
  if (f.neon_fp16) s += "+fp16";
  return s;
}

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  void i64(int64_t v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    i64(static_cast<int64_t>(s.size()));
    bytes(s.data(), s.size());
  }
};

uint64_t choice_hash(const OpContext& ctx, int threads, const std::string& isa) {
  Fnv f;
  f.i64(static_cast<int64_t>(ctx.node->op()));
  f.i64(static_cast<int64_t>(ctx.inputs.size()));
  for (const Value* v : ctx.inputs) {
    if (!v) {
      f.i64(-1);
      continue;
    }
    f.i64(static_cast<int64_t>(v->dtype));
    f.i64(v->constant ? 1 : 0);
    f.i64(v->rank());
    for (int64_t d : v->shape) f.i64(d);
  }
  f.i64(threads);
  f.str(isa);
  return f.h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

bool parse_int_field(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_hex_field(const std::string& s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    if (tab == std::string::npos || f.size() == 4) {  // the node name (last) may hold anything but a line break
      f.push_back(line.substr(start));
      return f;
    }
    f.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

// Missing file: no entries, a notice unless the caller is about to write it. Not a tuning file:
// an error. Our magic but a bad version or line: no entries, a notice.
Status read_tuning_file(const std::string& path, bool tuning, TuningFile* out, std::vector<std::string>* notices) {
  out->entries.clear();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      if (!tuning) notices->push_back("tuning file '" + path + "' does not exist: every op uses its default kernel choice");
      return Status::Ok();
    }
    return io_error("cannot read tuning file '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return io_error("tuning file '" + path + "' is not a regular file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return io_error("cannot open tuning file '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
    text.append(buf, n);
    if (text.size() > (64u << 20)) break;
  }
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return io_error("cannot read tuning file '" + path + "'");
  if (text.empty()) return Status::Ok();

  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  const std::string magic = std::string(kTuningMagic) + " ";
  if (lines[0].compare(0, magic.size(), magic) != 0)
    return invalid_argument("'" + path + "' is not a Pocket tuning file (its first line is not '" + magic +
                            std::to_string(kTuningVersion) + "')");
  if (lines[0] != magic + std::to_string(kTuningVersion)) {
    notices->push_back("tuning file '" + path + "' has another format version ('" + lines[0].substr(0, 40) +
                       "'): ignored" + (tuning ? ", will be rewritten" : ""));
    return Status::Ok();
  }
  std::vector<TuningEntry> entries;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = split_tabs(line);
    TuningEntry e;
    int64_t threads = 0, index = 0;
    bool ok = f.size() == 5 && parse_int_field(f[0], 1, 1024, &threads) && parse_hex_field(f[1], &e.hash) &&
              parse_int_field(f[2], 0, 1 << 20, &index) && !f[3].empty() && !f[4].empty();
    if (!ok) {
      notices->push_back("tuning file '" + path + "' is corrupt (line " + std::to_string(i + 1) +
                         " is not 'threads<TAB>hash<TAB>index<TAB>variant<TAB>node'): ignored" +
                         (tuning ? ", will be rewritten" : ""));
      return Status::Ok();
    }
    e.threads = static_cast<int>(threads);
    e.index = static_cast<int>(index);
    e.variant = std::move(f[3]);
    e.node = std::move(f[4]);
    entries.push_back(std::move(e));
  }
  out->entries = std::move(entries);
  return Status::Ok();
}

// Writes atomically (a temporary file renamed over the target).
Status write_tuning_file(const std::string& path, const std::vector<TuningEntry>& entries, const std::string& isa) {
  std::string text = std::string(kTuningMagic) + " " + std::to_string(kTuningVersion) + "\n";
  text += "# Kernel choices timed by Pocket (SessionOptions::tune) on " + isa + ".\n";
  text += "# threads<TAB>hash of op, input shapes, threads and ISA<TAB>variant index<TAB>variant<TAB>node\n";
  for (const TuningEntry& e : entries)
    text += std::to_string(e.threads) + "\t" + hex64(e.hash) + "\t" + std::to_string(e.index) + "\t" + e.variant + "\t" +
            e.node + "\n";
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return io_error("cannot write tuning file '" + path + "': " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    return io_error("cannot write tuning file '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return io_error("cannot write tuning file '" + path + "': " + std::strerror(err));
  }
  return Status::Ok();
}

// ---- Tuning: timing one variant on temporary buffers --------------------------------------------

// Zeroed 64-byte-aligned blocks with the arena's 64-byte tail, freed together.
class TempBuffers {
 public:
  TempBuffers() = default;
  TempBuffers(const TempBuffers&) = delete;
  TempBuffers& operator=(const TempBuffers&) = delete;
  ~TempBuffers() {
    for (void* p : blocks_) std::free(p);
  }
  void* alloc(size_t bytes) {
    const size_t size = format::align_up(bytes, format::kWeightAlignment) + format::kWeightAlignment;
    void* p = std::aligned_alloc(format::kWeightAlignment, size);
    if (!p) return nullptr;
    std::memset(p, 0, size);
    blocks_.push_back(p);
    return p;
  }

 private:
  std::vector<void*> blocks_;
};

uint16_t half_bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((b >> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return static_cast<uint16_t>(sign);  // tiny values: signed zero is enough here
  return static_cast<uint16_t>(sign | static_cast<uint32_t>(exp) << 10 | ((b >> 13) & 0x3ff));
}

// Deterministic values in [-1, 1) for floating-point inputs, zeros (valid indices) for the rest.
void fill_deterministic(Value& v, uint32_t seed) {
  const int64_t n = v.elements();
  uint32_t s = seed * 2654435761u + 12345u;
  auto next = [&]() {
    s = s * 1664525u + 1013904223u;
    return static_cast<float>(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
  };
  switch (v.dtype) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) v.as<float>()[i] = next();
      break;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) v.as<double>()[i] = next();
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) v.as<uint16_t>()[i] = half_bits(next());
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        float x = next();
        uint32_t b;
        std::memcpy(&b, &x, 4);
        v.as<uint16_t>()[i] = static_cast<uint16_t>(b >> 16);
      }
      break;
    default: break;  // already zero
  }
}

// The median run time of a freshly prepared op (variant `variant`) on temporary buffers, in ms;
// -1 when the op refuses the variant. A variant whose first run is far slower than best_ms gets
// that one run only.
double time_variant(const OpContext& real, OpFactory factory, int variant, double best_ms) {
  std::vector<Value> ins(real.inputs.size()), outs(real.outputs.size());
  OpContext ctx;
  ctx.node = real.node;
  ctx.pool = real.pool;
  ctx.num_threads = real.num_threads;
  ctx.weight_cache = real.weight_cache;  // the heuristic's pick, already packed, is found there
  ctx.variant = variant;
  TempBuffers buffers;
  for (size_t i = 0; i < real.inputs.size(); ++i) {
    if (!real.inputs[i]) {
      ctx.inputs.push_back(nullptr);
      continue;
    }
    ins[i] = *real.inputs[i];
    if (!ins[i].constant && !ins[i].known) {
      ins[i].data = buffers.alloc(ins[i].bytes());
      if (!ins[i].data) return -1;
      fill_deterministic(ins[i], static_cast<uint32_t>(i));
    }
    ctx.inputs.push_back(&ins[i]);
  }
  for (size_t i = 0; i < real.outputs.size(); ++i) {
    outs[i] = *real.outputs[i];
    outs[i].data = nullptr;
    ctx.outputs.push_back(&outs[i]);
  }
  std::unique_ptr<Op> op = factory();
  if (!op->prepare(ctx).ok() || op->chosen_variant() != variant) return -1;
  for (Value& o : outs) {
    if (o.elements() < 0) return -1;
    o.data = buffers.alloc(o.bytes());
    if (!o.data) return -1;
  }
  if (ctx.scratch_bytes) {
    ctx.scratch = buffers.alloc(ctx.scratch_bytes);
    if (!ctx.scratch) return -1;
  }
  if (!op->bind(ctx).ok()) return -1;

  auto t0 = Clock::now();
  op->run(ctx);  // warm-up: packed weights and buffers come into cache
  double first = ms_since(t0);
  if (best_ms > 0 && first > 3 * best_ms) {
    // Far slower than the best so far; one more run so that a preemption does not decide it.
    t0 = Clock::now();
    op->run(ctx);
    first = std::min(first, ms_since(t0));
    if (first > 3 * best_ms) return first;
  }
  std::vector<double> samples;
  double elapsed = 0;
  for (;;) {
    t0 = Clock::now();
    op->run(ctx);
    const double t = ms_since(t0);
    samples.push_back(t);
    elapsed += t;
    const size_t k = samples.size();
    if (k >= 21 || (k >= 5 && elapsed >= 2.0) || (k >= 3 && elapsed >= 30.0)) break;
    if (best_ms > 0 && k >= 2 && elapsed / k > 3 * best_ms) break;
  }
  std::sort(samples.begin(), samples.end());
  const size_t k = samples.size();
  return k % 2 ? samples[k / 2] : 0.5 * (samples[k / 2 - 1] + samples[k / 2]);
}

// Picks the fastest timed variant; the heuristic's own pick keeps its place unless another is
// more than 3% faster (timings on a loaded machine jitter by about that much).
int fastest(const std::vector<double>& ms, int heuristic) {
  int best = -1;
  for (size_t i = 0; i < ms.size(); ++i)
    if (ms[i] >= 0 && (best < 0 || ms[i] < ms[best])) best = static_cast<int>(i);
  if (best < 0) return heuristic;
  if (heuristic >= 0 && heuristic < static_cast<int>(ms.size()) && ms[heuristic] >= 0 &&
      ms[heuristic] <= ms[best] * 1.03)
    return heuristic;
  return best;
}

// Init times are grouped by op type and kernel ("Conv xnnpack.conv2d"): packing costs differ by kernel.
std::string per_op_key(const char* op, const std::string& kernel) { return std::string(op) + " " + kernel; }

void add_prepare_time(std::map<std::string, InitTimes::PerOp>& per_op, const char* op, const std::string& kernel,
                      double ms) {
  InitTimes::PerOp& s = per_op[per_op_key(op, kernel)];
  s.op = per_op_key(op, kernel);
  s.count++;
  s.prepare_ms += ms;
}

}  // namespace

const char* choice_source_name(ChoiceSource s) {
  switch (s) {
    case ChoiceSource::kHeuristic: return "heuristic";
    case ChoiceSource::kTuned: return "tuned";
    case ChoiceSource::kFile: return "file";
  }
  return "?";
}

Session::~Session() {
  offloaded_.clear();  // executables may point at converted constants and known values
  ops_.clear();  // ops may hold XNNPACK operators that point into the arena
  free_arena();
  free_known();
  if (pool_) pthreadpool_destroy(pool_);
  if (xnn_account_) xnn_account_->release();
}

// The arena is an anonymous mapping: zero-filled and page-aligned without touching it, so
// creation does not pay for zeroing and faulting in every page (the first run touches them).
Status Session::alloc_arena(size_t bytes) {
  free_arena();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (bytes + page - 1) / page * page;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status(StatusCode::kOutOfMemory, "cannot allocate an arena of " + std::to_string(bytes) + " bytes");
  arena_ = p;
  arena_mapped_ = size;
  return Status::Ok();
}

void Session::free_known() {
  for (void* p : known_blocks_) std::free(p);
  known_blocks_.clear();
  known_bytes_ = 0;
}

// Binds and runs node n now, on the calling thread, into session-owned memory (not the arena); its
// outputs become known and run() skips the node.
Status Session::evaluate_at_prepare(size_t n) {
  OpContext& ctx = contexts_[n];
  auto alloc = [&](size_t bytes) -> void* {
    const size_t size = format::align_up(bytes, format::kWeightAlignment) + format::kWeightAlignment;
    void* p = std::aligned_alloc(format::kWeightAlignment, size);
    if (p) std::memset(p, 0, size);
    return p;
  };
  for (Value* out : ctx.outputs) {
    void* p = alloc(out->bytes());
    if (!p) return Status(StatusCode::kOutOfMemory, ctx.op_name() + ": cannot allocate " + std::to_string(out->bytes()) + " bytes");
    known_blocks_.push_back(p);
    known_bytes_ += format::align_up(out->bytes(), format::kWeightAlignment) + format::kWeightAlignment;
    out->data = p;
  }
  void* scratch = ctx.scratch_bytes ? alloc(ctx.scratch_bytes) : nullptr;
  if (ctx.scratch_bytes && !scratch)
    return Status(StatusCode::kOutOfMemory, ctx.op_name() + ": cannot allocate scratch of " + std::to_string(ctx.scratch_bytes) + " bytes");
  ctx.scratch = scratch;
  ctx.pool = nullptr;
  Status st = ops_[n]->bind(ctx);
  if (st.ok()) ops_[n]->run(ctx);
  std::free(scratch);
  ctx.scratch = nullptr;
  ctx.scratch_bytes = 0;
  ctx.pool = pool_;
  POCKET_RETURN_IF_ERROR(st);
  for (Value* out : ctx.outputs) out->known = true;
  return Status::Ok();
}

void Session::free_arena() {
  if (arena_) ::munmap(arena_, arena_mapped_);
  arena_ = nullptr;
  arena_mapped_ = 0;
}

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& requested) {
  if (!model) return invalid_argument("session needs a model");
  const SessionOptions options = with_sustained_cap(requested);  // sustained mode's thread cap
  if (options.num_threads < 1 || options.num_threads > 1024)
    return invalid_argument("num_threads must be between 1 and 1024, got " + std::to_string(options.num_threads));
  const auto t0 = Clock::now();
  std::unique_ptr<Session> s(new Session());
  s->model_ = std::move(model);
  s->options_ = options;
  s->xnn_account_ = kernels::XnnAccount::create();
  if (options.num_threads > 1) {
    s->pool_ = pthreadpool_create(static_cast<size_t>(options.num_threads));
    if (!s->pool_) return internal_error("cannot create a thread pool of " + std::to_string(options.num_threads));
  }
  s->run_pool_ = s->pool_;
  const fb::Graph& g = s->model_->graph();
  const size_t nt = g.tensors()->size();
  s->values_.resize(nt);
  for (size_t i = 0; i < nt; ++i) {
    const fb::Tensor* t = g.tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    Value& v = s->values_[i];
    v.name = std::string_view(t->name()->c_str(), t->name()->size());
    v.dtype = t->dtype();
    v.shape.assign(t->shape()->begin(), t->shape()->end());
    v.quant = t->quantization();
    if (t->has_data()) {
      v.constant = true;
      v.data = const_cast<void*>(s->model_->tensor_data(static_cast<int32_t>(i)));
    }
  }
  s->inputs_.assign(g.inputs()->begin(), g.inputs()->end());
  s->outputs_.assign(g.outputs()->begin(), g.outputs()->end());
  // Symbolic input dims start at 1 until resize_input() (or options.input_shapes) says otherwise.
  for (int32_t idx : s->inputs_)
    for (int64_t& d : s->values_[idx].shape)
      if (d < 0) d = 1;
  if (!options.input_shapes.empty()) POCKET_RETURN_IF_ERROR(s->apply_input_shapes(options.input_shapes));
  POCKET_RETURN_IF_ERROR(s->choose_backend());
  const double setup_ms = ms_since(t0);
  POCKET_RETURN_IF_ERROR(s->prepare_all());
  s->init_times_.setup_ms = setup_ms;
  s->init_times_.total_ms = ms_since(t0);
  return s;
}

// Before node n's prepare: every F16 constant input, and every I8 quantized constant input the op
// has no int8 form for, is replaced in the node's context by an F32 copy made once per model
// (weight cache key "f32/<tensor index>"); a computed I8 quantized input the op cannot take is an
// error. A re-prepare of the same node (tuning) starts from the file's values again.
Status Session::convert_constant_inputs(size_t n, Op& op) {
  OpContext& ctx = contexts_[n];
  const fb::Node* node = ctx.node;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const int32_t idx = node->inputs()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (idx < 0) continue;
    ctx.inputs[i] = &values_[idx];  // the file's value (a previous prepare may have replaced it)
  }
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    Value* v = ctx.inputs[i];
    if (!v) continue;
    const bool f16 = v->constant && v->dtype == DType::F16;
    const bool q8 = v->dtype == DType::I8 && v->quant != nullptr;
    if (!f16 && !q8) continue;
    if (q8 && op.accepts_quantized(ctx, i)) continue;
    if (q8 && !v->constant)
      return ctx.fail(StatusCode::kUnsupported, "input " + std::to_string(i) + " '" + std::string(v->name) + "' is " +
                                                    dtype_name(v->dtype) + shape_str(v->shape) +
                                                    " (quantized int8) and this op has no int8 form for it "
                                                    "(format/OPS.md, Quantization)");
    const int32_t idx = node->inputs()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const int64_t count = v->elements();
    if (count < 0) return ctx.fail(StatusCode::kInvalidModel, "constant '" + std::string(v->name) + "' has no static shape");
    const auto t0 = Clock::now();
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    const Value src = *v;
    std::shared_ptr<const PackedWeights> buf = pack_weights(ctx.weight_cache, "f32/" + std::to_string(idx), bytes, [&](void* p) {
      float* out = static_cast<float*>(p);
      if (f16) {
        const uint16_t* h = src.as<uint16_t>();
        for (int64_t k = 0; k < count; ++k) out[k] = kernels::f16_to_f32(h[k]);
        return;
      }
      const fb::Quantization* q = src.quant;
      const int8_t* x = src.as<int8_t>();
      int64_t outer = 1, channels = 1, inner = count;
      if (q->axis() >= 0) {
        for (int d = 0; d < q->axis(); ++d) outer *= src.shape[d];
        channels = src.shape[q->axis()];
        inner = outer * channels ? count / (outer * channels) : 0;
      }
      const auto* zps = q->zero_points();
      const bool has_zp = zps && zps->size() != 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
          const float sc = q->scales()->Get(static_cast<flatbuffers::uoffset_t>(c));
          const int64_t zp = has_zp ? zps->Get(static_cast<flatbuffers::uoffset_t>(c)) : 0;
          const int64_t base = (o * channels + c) * inner;
          for (int64_t k = 0; k < inner; ++k) out[base + k] = sc * static_cast<float>(x[base + k] - zp);
        }
    });
    auto conv = std::make_unique<Value>(src);
    conv->dtype = DType::F32;
    conv->quant = nullptr;
    conv->data = const_cast<void*>(buf->data());
    ctx.inputs[i] = conv.get();
    converted_values_.push_back(std::move(conv));
    converted_buffers_.push_back(std::move(buf));
    if (std::find(converted_tensors_.begin(), converted_tensors_.end(), idx) == converted_tensors_.end()) {
      converted_tensors_.push_back(idx);  // counted once (a tuned node is prepared several times)
      if (f16) init_times_.converted_f16++;
      else init_times_.dequantized_i8++;
      init_times_.converted_bytes += bytes;
    }
    init_times_.convert_ms += ms_since(t0);
  }
  return Status::Ok();
}

Status Session::prepare_all() {
  const auto t_all = Clock::now();
  const fb::Graph& g = model_->graph();
  const size_t nn = g.nodes()->size();
  // XNNPACK heap allocated (and freed) on this thread from here on is this session's.
  kernels::XnnAccountScope xnn_scope(xnn_account_);
  // The previous ops (resize_input) stay alive until the new ones are prepared, so that weights
  // they packed are found in the model's weight cache instead of being packed again.
  // Executables first: they may point at converted constants and known values freed below.
  offloaded_.clear();
  steps_.clear();
  partition_ = PartitionReport{};
  std::vector<std::unique_ptr<Op>> previous_ops = std::move(ops_);
  std::vector<std::shared_ptr<const PackedWeights>> previous_converted = std::move(converted_buffers_);
  ops_.clear();
  converted_buffers_.clear();
  converted_values_.clear();
  converted_tensors_.clear();
  contexts_.clear();
  choices_.clear();
  notices_.clear();
  init_times_ = InitTimes{};
  adaptive_ = Adaptive{};
  run_pool_ = pool_;
  free_arena();
  free_known();
  run_order_.clear();
  for (Value& v : values_) {
    if (v.constant) continue;
    v.known = false;
    v.data = nullptr;
  }
  std::vector<uint8_t> evaluated(nn, 0);
  ops_.reserve(nn);
  contexts_.resize(nn);
  node_packed_.assign(nn, {});

  // Kernel choice inputs: the tuning file (if any) and each node's key in it.
  const bool tune = options_.tune;
  const bool use_file = !options_.tuning_file.empty();
  TuningFile file;
  std::map<std::pair<std::string, int>, const TuningEntry*> entry_of;
  int missing_entries = 0;  // ops with a choice but no entry for this thread count
  int stale_entries = 0;    // the first few are named in notices, the rest counted
  std::vector<std::string> node_key(nn);
  std::string isa;
  if (tune || use_file) {
    const auto t0 = Clock::now();
    isa = isa_name();
    if (use_file) POCKET_RETURN_IF_ERROR(read_tuning_file(options_.tuning_file, tune, &file, &notices_));
    for (const TuningEntry& e : file.entries) entry_of[{e.node, e.threads}] = &e;
    std::unordered_map<std::string_view, int> name_count;
    for (size_t n = 0; n < nn; ++n) {
      const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
      if (node->name()) name_count[node->name()->string_view()]++;
    }
    for (size_t n = 0; n < nn; ++n) {
      const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
      std::string_view name = node->name() ? node->name()->string_view() : std::string_view();
      const bool plain = !name.empty() && name_count[name] == 1 && name.find_first_of("\t\r\n") == std::string_view::npos &&
                         name[0] != '#';
      node_key[n] = plain ? std::string(name) : "#" + std::to_string(n);
    }
    init_times_.tune_ms += ms_since(t0);
  }

  std::map<std::string, InitTimes::PerOp> per_op;
  // Shape inference and prepare, in topological order.
  for (size_t n = 0; n < nn; ++n) {
    const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
    OpContext& ctx = contexts_[n];
    ctx.node = node;
    ctx.pool = pool_;
    ctx.num_threads = options_.num_threads;
    ctx.weight_cache = &model_->weight_cache();
    for (int32_t idx : *node->inputs()) ctx.inputs.push_back(idx < 0 ? nullptr : &values_[idx]);
    for (int32_t idx : *node->outputs()) {
      values_[idx].data = nullptr;
      ctx.outputs.push_back(&values_[idx]);
    }
    OpFactory factory = op_factory(node->op());
    if (!factory) return ctx.fail(StatusCode::kUnsupported, "this build has no kernel for this op");
    const char* op_name = fb::EnumNameOpType(node->op());
    double prepare_ms = 0;

    // A saved choice is tried first (by index), then checked by name once the op lists its variants.
    const TuningEntry* entry = nullptr;
    if (tune || use_file) {
      const uint64_t hash = choice_hash(ctx, options_.num_threads, isa);
      auto it = entry_of.find({node_key[n], options_.num_threads});
      if (it != entry_of.end()) {
        if (it->second->hash == hash) {
          entry = it->second;
        } else if (++stale_entries <= 3) {
          notices_.push_back("tuning file entry for " + ctx.op_name() +
                             " is stale (op, input shapes or CPU changed): ignored");
        }
      }
    }
    auto prepare = [&](int variant) -> Status {
      const auto t0 = Clock::now();
      if (ops_.size() > n) ops_.pop_back();
      ops_.push_back(factory());
      ctx.variant = variant;
      ctx.scratch_bytes = 0;
      Status st = convert_constant_inputs(n, *ops_.back());
      if (st.ok()) {
        PackedWeightsCollector collector;  // the packed buffers this op holds
        st = ops_.back()->prepare(ctx);
        node_packed_[n] = std::move(collector.buffers);
      }
      prepare_ms += ms_since(t0);
      return st;
    };
    POCKET_RETURN_IF_ERROR(prepare(entry && !tune ? entry->index : -1));
    for (Value* out : ctx.outputs) {
      if (out->elements() < 0)
        return ctx.fail(StatusCode::kInvalidModel, "output '" + std::string(out->name) + "' has no valid shape after prepare "
                                                   "(a negative dimension or an element count overflowing 64 bits)");
      // Sizes in bytes must not wrap (a hostile shape attribute can make any size).
      const size_t es = std::max<size_t>(dtype_size(out->dtype), 1);
      if (static_cast<uint64_t>(out->elements()) > (uint64_t{1} << 62) / es)
        return ctx.fail(StatusCode::kOutOfMemory, "output '" + std::string(out->name) + "' of shape " + shape_str(out->shape) +
                                                      " is too large");
    }
    // Prepare-time evaluation (format/OPS.md "Operands known at prepare"): Shape nodes, and nodes
    // whose inputs are all constant or known, with small outputs, run once now.
    bool now = node->op() == fb::OpType::Shape;
    if (!now) {
      now = true;
      for (const Value* in : ctx.inputs) now = now && (!in || in->constant || in->known);
      for (const Value* out : ctx.outputs) now = now && out->elements() <= kMaxKnownElements;
    }
    if (now) {
      POCKET_RETURN_IF_ERROR(evaluate_at_prepare(n));
      evaluated[n] = 1;
      add_prepare_time(per_op, op_name, ops_.back()->kernel_name(), prepare_ms);
      continue;
    }
    std::vector<std::string> variants = ops_.back()->variants();
    if (variants.size() < 2) {
      add_prepare_time(per_op, op_name, ops_.back()->kernel_name(), prepare_ms);
      continue;
    }

    KernelChoice choice;
    choice.node = static_cast<int32_t>(n);
    choice.op = op_name;
    choice.name = node->name() ? node->name()->str() : "";
    choice.variants = variants;
    choice.chosen = ops_.back()->chosen_variant();
    if (tune) {
      const auto t0 = Clock::now();
      choice.median_ms.assign(variants.size(), -1.0);
      // Heuristic's pick first, so slow variants can be cut short against it.
      std::vector<int> order = {choice.chosen};
      for (int i = 0; i < static_cast<int>(variants.size()); ++i)
        if (i != choice.chosen) order.push_back(i);
      double best = -1;
      for (int i : order) {
        if (i < 0) continue;
        const double ms = time_variant(ctx, factory, i, best);
        choice.median_ms[i] = ms;
        if (ms >= 0 && (best < 0 || ms < best)) best = ms;
      }
      const int pick = fastest(choice.median_ms, choice.chosen);
      init_times_.tune_ms += ms_since(t0);
      if (pick != choice.chosen) {
        POCKET_RETURN_IF_ERROR(prepare(pick));
        choice.chosen = ops_.back()->chosen_variant();
      }
      choice.source = ChoiceSource::kTuned;
    } else if (entry) {
      const int have = choice.chosen;
      if (have >= 0 && have < static_cast<int>(variants.size()) && variants[have] == entry->variant) {
        choice.source = ChoiceSource::kFile;
      } else {
        auto it = std::find(variants.begin(), variants.end(), entry->variant);
        if (it == variants.end()) {
          notices_.push_back("tuning file entry for " + ctx.op_name() + " names variant '" + entry->variant +
                             "', which this op does not offer for these shapes: ignored");
          POCKET_RETURN_IF_ERROR(prepare(-1));
          choice.chosen = ops_.back()->chosen_variant();
        } else {
          const int want = static_cast<int>(it - variants.begin());
          POCKET_RETURN_IF_ERROR(prepare(want));  // the op's variant list changed order
          choice.chosen = ops_.back()->chosen_variant();
          if (choice.chosen == want)
            choice.source = ChoiceSource::kFile;
          else
            notices_.push_back("tuning file entry for " + ctx.op_name() + ": variant '" + entry->variant +
                               "' refused these shapes: the default choice is used");
        }
      }
    }
    if (use_file && !tune && !entry) ++missing_entries;
    choices_.push_back(std::move(choice));
    add_prepare_time(per_op, op_name, ops_.back()->kernel_name(), prepare_ms);
  }
  previous_ops.clear();
  previous_converted.clear();
  if (init_times_.converted_f16 + init_times_.dequantized_i8 > 0) {
    char mb[32];
    std::snprintf(mb, sizeof mb, "%.2f", static_cast<double>(init_times_.converted_bytes) / (1 << 20));
    std::string what;
    if (init_times_.converted_f16) what = std::to_string(init_times_.converted_f16) + " F16";
    if (init_times_.dequantized_i8)
      what += (what.empty() ? "" : " and ") + std::to_string(init_times_.dequantized_i8) + " I8 (dequantized)";
    notices_.push_back(what + " constants converted to F32 at session creation (" + mb +
                       " MiB, shared by the model's sessions)");
  }
  if (stale_entries > 3)
    notices_.push_back("... and " + std::to_string(stale_entries - 3) + " more stale tuning file entries: ignored");
  if (missing_entries > 0 && !file.entries.empty()) {
    bool any_for_threads = false;
    for (const TuningEntry& e : file.entries) any_for_threads |= e.threads == options_.num_threads;
    notices_.push_back(any_for_threads ? "tuning file '" + options_.tuning_file + "' has no entry for " +
                                             std::to_string(missing_entries) + " of " + std::to_string(choices_.size()) +
                                             " ops with alternatives: they use their default choice"
                                       : "tuning file '" + options_.tuning_file + "' has no entries for num_threads = " +
                                             std::to_string(options_.num_threads) + " (tune once with this "
                                             "thread count): every op uses its default choice");
  }
  for (auto& [name, s] : per_op) init_times_.prepare_ms += s.prepare_ms;  // re-prepares after tuning included

  for (size_t n = 0; n < nn; ++n)
    if (!evaluated[n]) run_order_.push_back(static_cast<uint32_t>(n));

  // Backends: subgraphs offloaded, CPU ops of their nodes released, steps_ in execution order.
  const auto t_backend = Clock::now();
  POCKET_RETURN_IF_ERROR(offload());
  partition_summary_ = partition_.summary();
  init_times_.backend_ms = ms_since(t_backend);
  const int32_t num_steps = static_cast<int32_t>(steps_.size());
  std::vector<int32_t> step_of(nn, -1);  // a node's step (its subgraph's step when offloaded)
  for (int32_t k = 0; k < num_steps; ++k) {
    const Step& st = steps_[static_cast<size_t>(k)];
    if (st.subgraph < 0) step_of[st.node] = k;
    else
      for (uint32_t m : offloaded_[static_cast<size_t>(st.subgraph)].nodes) step_of[m] = k;
  }

  // Views (Op::alias_input) share their input's bytes, and so do in-place updates
  // (Op::inplace_input) whose input nothing else reads afterwards: root[v] is the value whose
  // buffer v uses.
  auto t_plan = Clock::now();
  std::vector<int32_t> root(values_.size());
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<int32_t>(i);
  std::vector<std::vector<uint32_t>> readers(values_.size());
  std::vector<uint8_t> is_output(values_.size(), 0), is_input(values_.size(), 0);
  for (int32_t idx : outputs_) is_output[idx] = 1;
  for (int32_t idx : inputs_) is_input[idx] = 1;
  for (uint32_t n : run_order_)
    for (int32_t idx : *g.nodes()->Get(n)->inputs())
      if (idx >= 0) readers[idx].push_back(n);
  auto is_view = [&](uint32_t m, int32_t family) {
    const fb::Node* node = g.nodes()->Get(m);
    return ops_[m] && ops_[m]->alias_input() >= 0 && root[node->outputs()->Get(0)] == family;
  };
  // Whether node n may update value `in` (its input slot k) in place: nothing else reads in's
  // buffer from node n on, and for a graph input nothing else reads it at all (the next run would
  // see the update); no value of that buffer is a graph output.
  auto may_update = [&](uint32_t n, int32_t in, int k) {
    const int32_t r = root[in];
    if (values_[r].constant || values_[r].known || values_[in].constant || values_[in].known) return false;
    const fb::Node* node = g.nodes()->Get(n);
    for (size_t v = 0; v < values_.size(); ++v) {
      if (root[v] != r) continue;
      if (is_output[v]) return false;
      for (uint32_t m : readers[v]) {
        if (m == n) {
          for (size_t j = 0; j < node->inputs()->size(); ++j)
            if (node->inputs()->Get(static_cast<flatbuffers::uoffset_t>(j)) == static_cast<int32_t>(v) &&
                (static_cast<int>(j) != k || static_cast<int32_t>(v) != in))
              return false;
        } else if (step_of[m] > step_of[n] || (is_input[r] && !is_view(m, r))) {
          return false;
        }
      }
    }
    return true;
  };
  for (uint32_t n : run_order_) {
    if (!ops_[n]) continue;  // offloaded: the backend's business; its values get buffers of their own
    const fb::Node* node = g.nodes()->Get(n);
    int a = ops_[n]->alias_input();
    const int k = ops_[n]->inplace_input();
    const bool update = a < 0 && k >= 0;
    if (update) a = k;
    if (a < 0 || static_cast<size_t>(a) >= node->inputs()->size() || node->inputs()->Get(a) < 0) continue;
    int32_t in = node->inputs()->Get(a), out = node->outputs()->Get(0);
    if (values_[in].bytes() != values_[out].bytes() || values_[in].dtype != values_[out].dtype) continue;
    if (update && !may_update(n, in, k)) continue;
    root[out] = root[in];
  }

  // Liveness over the steps: buffer b < nt is tensor b; buffer nt + n is node n's scratch. Values
  // internal to an offloaded subgraph get no host bytes: only its inputs and outputs are planned.
  std::vector<BufferUse> uses(values_.size() + nn);
  std::vector<int8_t> planned(values_.size(), 0);
  const int32_t last_step = num_steps == 0 ? 0 : num_steps - 1;
  auto extend = [&](int32_t idx, int32_t step) {
    int32_t r = root[idx];
    if (planned[r]) uses[r].last = std::max(uses[r].last, step);
  };
  auto produce = [&](int32_t idx, int32_t step) {
    if (root[idx] != idx || planned[idx]) return;
    planned[idx] = 1;
    uses[idx] = {values_[idx].bytes(), step, step};
  };
  for (int32_t idx : inputs_) {
    planned[idx] = 1;
    uses[idx] = {values_[idx].bytes(), 0, 0};
  }
  for (int32_t k = 0; k < num_steps; ++k) {
    const Step& st = steps_[static_cast<size_t>(k)];
    if (st.subgraph >= 0) {
      const Offloaded& o = offloaded_[static_cast<size_t>(st.subgraph)];
      for (const Value* v : o.inputs) extend(static_cast<int32_t>(v - values_.data()), k);
      for (const Value* v : o.outputs) {
        produce(static_cast<int32_t>(v - values_.data()), k);
        extend(static_cast<int32_t>(v - values_.data()), k);
      }
      continue;
    }
    const uint32_t n = st.node;
    const fb::Node* node = g.nodes()->Get(n);
    for (int32_t idx : *node->outputs()) produce(idx, k);
    for (int32_t idx : *node->inputs())
      if (idx >= 0) extend(idx, k);
    for (int32_t idx : *node->outputs()) extend(idx, k);
    uses[values_.size() + n] = {contexts_[n].scratch_bytes, k, k};
  }
  for (int32_t idx : outputs_) extend(idx, last_step);
  // Inputs keep their bytes for the whole run, so that running again without setting them again
  // gives the same outputs (a buffer reused after its last reader would leave garbage behind).
  for (int32_t idx : inputs_) extend(idx, last_step);

  MemoryPlan plan = plan_memory(uses, format::kWeightAlignment);
  arena_bytes_ = plan.arena_bytes;
  arena_lower_bound_ = plan.lower_bound;
  init_times_.plan_ms = ms_since(t_plan);

  // The budget, before the arena is mapped: everything but XNNPACK's setup-time buffers is known.
  if (options_.memory_budget) POCKET_RETURN_IF_ERROR(check_budget(plan_memory_report(arena_bytes_), "before mapping the arena"));

  auto t_arena = Clock::now();
  // Kernels (XNNPACK's among them) may read up to 16 bytes past a buffer's end: keep a 64-byte tail.
  POCKET_RETURN_IF_ERROR(alloc_arena(arena_bytes_ + format::kWeightAlignment));
  char* base = static_cast<char*>(arena_);
  for (size_t i = 0; i < values_.size(); ++i)
    if (planned[i]) values_[i].data = base + plan.offsets[i];
  for (size_t i = 0; i < values_.size(); ++i)
    if (root[i] != static_cast<int32_t>(i)) values_[i].data = values_[root[i]].data;
  init_times_.arena_ms = ms_since(t_arena);

  auto t_bind = Clock::now();
  for (uint32_t n : run_order_) {
    if (!ops_[n]) continue;  // offloaded
    OpContext& ctx = contexts_[n];
    ctx.scratch = ctx.scratch_bytes ? base + plan.offsets[values_.size() + n] : nullptr;
    const auto t0 = Clock::now();
    POCKET_RETURN_IF_ERROR(ops_[n]->bind(ctx));
    per_op[per_op_key(fb::EnumNameOpType(ctx.node->op()), ops_[n]->kernel_name())].bind_ms += ms_since(t0);
  }
  init_times_.bind_ms = ms_since(t_bind);
  // Again with the final figures: XNNPACK's setup allocates (indirection buffers).
  if (options_.memory_budget) POCKET_RETURN_IF_ERROR(check_budget(memory(), "after binding (XNNPACK setup buffers)"));

  // Per-op-type table, most expensive first.
  init_times_.per_op.clear();
  for (auto& [name, s] : per_op) init_times_.per_op.push_back(s);
  std::sort(init_times_.per_op.begin(), init_times_.per_op.end(), [](const InitTimes::PerOp& a, const InitTimes::PerOp& b) {
    return a.prepare_ms + a.bind_ms > b.prepare_ms + b.bind_ms;
  });

  if (tune && use_file) {
    const auto t0 = Clock::now();
    std::vector<TuningEntry> entries;
    for (const TuningEntry& e : file.entries)
      if (e.threads != options_.num_threads) entries.push_back(e);
    for (const KernelChoice& c : choices_) {
      TuningEntry e;
      e.threads = options_.num_threads;
      e.hash = choice_hash(contexts_[c.node], options_.num_threads, isa);
      e.index = c.chosen;
      e.variant = c.variants[c.chosen];
      e.node = node_key[c.node];
      entries.push_back(std::move(e));
    }
    POCKET_RETURN_IF_ERROR(write_tuning_file(options_.tuning_file, entries, isa));
    init_times_.tune_ms += ms_since(t0);
  }
  init_times_.total_ms = ms_since(t_all);
  return Status::Ok();
}

// ---- Backends (issue #7) ----------------------------------------------------------------------

// Once, at creation: the backend the options ask for, or none (the CPU alone) and why.
Status Session::choose_backend() {
  const std::string& want = options_.backend;
  if (want != "cpu" && want != "vulkan" && want != "auto")
    return invalid_argument("backend must be 'cpu', 'vulkan' or 'auto', got '" + want + "'");
  backend_.reset();
  backend_decision_.clear();
  backend_notice_.clear();
  if (options_.custom_backend) {
    backend_ = options_.custom_backend;
  } else if (want == "cpu") {
    backend_decision_ = "cpu: every node on the CPU (as requested)";
    return Status::Ok();
  } else {
    auto r = make_vulkan_backend(want == "vulkan");
    if (!r.ok()) {
      if (want == "vulkan" && options_.backend_required)
        return Status(r.status().code(), "backend 'vulkan' is required but cannot be used: " + r.status().message());
      backend_decision_ = want == "auto" ? "auto: no Vulkan GPU (" + r.status().message() + "): every node on the CPU"
                                         : "vulkan: not available (" + r.status().message() + "): every node on the CPU";
      if (want == "vulkan") backend_notice_ = "backend 'vulkan' requested but not available, running on the CPU: " + r.status().message();
      return Status::Ok();
    }
    backend_ = std::shared_ptr<Backend>(std::move(r.value()));
  }
  if (backend_->interface_version() != kBackendInterfaceVersion) {
    const std::string msg = std::string("backend '") + backend_->name() + "' implements backend interface version " +
                            std::to_string(backend_->interface_version()) + ", this build of Pocket needs version " +
                            std::to_string(kBackendInterfaceVersion);
    backend_.reset();
    return unsupported(msg);
  }
  return Status::Ok();
}

// After every op's prepare: partitions run_order_ for backend_, prepares each subgraph on it,
// releases the CPU ops of the nodes it took, and fills steps_ and partition_.
Status Session::offload() {
  PartitionReport& rep = partition_;
  rep = PartitionReport{};
  rep.requested = options_.backend;
  partition_summary_.clear();
  offloaded_.clear();
  steps_.clear();
  auto label = [&](uint32_t n) { return contexts_[n].op_name(); };
  auto op_type = [&](uint32_t n) { return std::string(fb::EnumNameOpType(contexts_[n].node->op())); };
  std::map<std::string, int> by_type;
  auto finish = [&]() {
    for (const Step& st : steps_) {
      if (st.subgraph >= 0) continue;
      rep.ops_on_cpu++;
      by_type["cpu " + op_type(st.node)]++;
    }
    for (const Offloaded& o : offloaded_) {
      rep.ops_offloaded += static_cast<int>(o.nodes.size());
      for (uint32_t n : o.nodes) by_type[rep.backend + " " + op_type(n)]++;
    }
    std::vector<std::pair<std::string, int>> v(by_type.begin(), by_type.end());
    std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
      const bool a_cpu = a.first.compare(0, 4, "cpu ") == 0, b_cpu = b.first.compare(0, 4, "cpu ") == 0;
      if (a_cpu != b_cpu) return b_cpu;  // the offloading backend first
      return a.second > b.second;
    });
    rep.ops_per_backend_by_type = std::move(v);
    std::sort(rep.stayed_on_cpu.begin(), rep.stayed_on_cpu.end(),
              [](const PartitionReport::CpuNode& a, const PartitionReport::CpuNode& b) { return a.node < b.node; });
  };
  auto all_on_cpu = [&](const std::string& why) {
    rep.backend = "cpu";
    rep.decision = why;
    for (uint32_t n : run_order_) steps_.push_back({-1, n});
    finish();
  };
  if (!backend_) {
    if (!backend_notice_.empty()) notices_.push_back(backend_notice_);
    all_on_cpu(backend_decision_);
    if (options_.backend != "cpu")
      for (uint32_t n : run_order_) rep.stayed_on_cpu.push_back({n, label(n), backend_decision_});
    return Status::Ok();
  }
  rep.device = backend_->device();
  rep.device_memory_is_host = !backend_->is_accelerator();
  const std::string name = backend_->name();

  std::vector<NodeView> views;
  views.reserve(run_order_.size());
  for (uint32_t n : run_order_) {
    NodeView nv;
    nv.index = n;
    nv.node = contexts_[n].node;
    nv.inputs.assign(contexts_[n].inputs.begin(), contexts_[n].inputs.end());
    nv.outputs.assign(contexts_[n].outputs.begin(), contexts_[n].outputs.end());
    views.push_back(std::move(nv));
  }
  std::vector<const Value*> graph_outputs;
  for (int32_t idx : outputs_) graph_outputs.push_back(&values_[idx]);
  Partition part = partition_nodes(views, *backend_, graph_outputs);
  auto flops_of = [&](uint32_t n) { return ops_[n]->flops(contexts_[n]); };
  // Every node the backend refused, with its reason (also when nothing ends up offloaded).
  std::vector<PartitionReport::CpuNode> refused;
  for (size_t i = 0; i < views.size(); ++i)
    if (!part.support[i].ok) refused.push_back({run_order_[i], label(run_order_[i]), part.support[i].reason});

  char pct[32] = "";
  if (options_.backend == "auto") {
    int64_t total = 0, taken = 0;
    for (size_t i = 0; i < views.size(); ++i) {
      const int64_t f = std::max<int64_t>(flops_of(run_order_[i]), 0);
      total += f;
      if (part.group[i] >= 0) taken += f;
    }
    std::snprintf(pct, sizeof pct, "%.1f%%", total > 0 ? 100.0 * static_cast<double>(taken) / static_cast<double>(total) : 0.0);
    std::string why;
    if (!backend_->is_accelerator())
      why = "auto: " + name + " device '" + rep.device + "' is not an accelerator (a CPU implementation): every node on the CPU";
    else if (total == 0 || taken * 2 < total)
      why = "auto: the nodes " + name + " supports hold " + pct + " of the FLOPs (< 50%): every node on the CPU";
    if (!why.empty()) {
      all_on_cpu(why);
      for (size_t i = 0; i < views.size(); ++i)
        rep.stayed_on_cpu.push_back({run_order_[i], label(run_order_[i]), part.support[i].ok ? why : part.support[i].reason});
      return Status::Ok();
    }
  }

  BackendOptions bo;
  bo.fp16 = options_.backend_fp16 || options_.backend_fp16_arithmetic;
  bo.fp16_arithmetic = options_.backend_fp16_arithmetic;
  bo.pipeline_cache_file = options_.pipeline_cache_file;
  bo.num_threads = options_.num_threads;
  std::vector<int> offloaded_index(part.subgraphs.size(), -1);
  std::vector<std::string> failed(part.subgraphs.size());
  size_t device_used = 0;
  for (size_t k = 0; k < part.subgraphs.size(); ++k) {
    const Subgraph& sg = part.subgraphs[k];
    // Each subgraph may allocate what the ones prepared so far left of the device budget.
    const bool budget_spent = options_.device_memory_budget && device_used >= options_.device_memory_budget;
    if (options_.device_memory_budget && !budget_spent) bo.memory_budget = options_.device_memory_budget - device_used;
    auto r = budget_spent ? Result<std::unique_ptr<BackendExecutable>>(Status(
                                StatusCode::kOutOfMemory, "the device memory budget (" + std::to_string(options_.device_memory_budget) +
                                                              " bytes) is used up by the subgraphs before it"))
                          : backend_->prepare(sg, bo);
    if (!r.ok()) {
      const std::string what = name + " could not prepare subgraph " + std::to_string(k) + " (" +
                               std::to_string(sg.nodes.size()) + " nodes, first " + sg.nodes.front().label() +
                               "): " + r.status().message();
      if (options_.backend_required) return Status(r.status().code(), what);
      failed[k] = what;
      notices_.push_back(what + "; those nodes run on the CPU");
      continue;
    }
    Offloaded o;
    o.exe = std::move(r.value());
    device_used += o.exe->memory().allocated;
    for (const std::string& note : o.exe->notes())
      if (std::find(notices_.begin(), notices_.end(), note) == notices_.end()) notices_.push_back(note);
    for (const Value* v : sg.inputs) o.inputs.push_back(const_cast<Value*>(v));
    for (const Value* v : sg.outputs) o.outputs.push_back(const_cast<Value*>(v));
    for (size_t i : part.members[k]) {
      o.nodes.push_back(run_order_[i]);
      o.flops += std::max<int64_t>(flops_of(run_order_[i]), 0);
    }
    o.label = "subgraph " + std::to_string(offloaded_.size()) + " (" + std::to_string(o.nodes.size()) + " nodes)";
    offloaded_index[k] = static_cast<int>(offloaded_.size());
    offloaded_.push_back(std::move(o));
  }
  for (const Partition::Step& st : part.steps) {
    if (st.subgraph < 0) {
      steps_.push_back({-1, run_order_[st.node]});
    } else if (offloaded_index[static_cast<size_t>(st.subgraph)] >= 0) {
      steps_.push_back({offloaded_index[static_cast<size_t>(st.subgraph)], 0});
    } else {
      for (size_t i : part.members[static_cast<size_t>(st.subgraph)]) {
        steps_.push_back({-1, run_order_[i]});
        rep.stayed_on_cpu.push_back({run_order_[i], label(run_order_[i]), failed[static_cast<size_t>(st.subgraph)]});
      }
    }
  }
  rep.stayed_on_cpu.insert(rep.stayed_on_cpu.end(), refused.begin(), refused.end());
  if (offloaded_.empty()) {
    rep.backend = "cpu";
    rep.decision = options_.backend + ": " + name + " took no node (" + std::to_string(refused.size()) +
                   " unsupported, " + std::to_string(part.subgraphs.size()) + " subgraphs failed to prepare): every node on the CPU";
    finish();
    return Status::Ok();
  }
  rep.backend = name;
  rep.decision = options_.backend == "auto" ? "auto: " + name + " on an accelerator, its nodes hold " + std::string(pct) + " of the FLOPs"
                                            : options_.backend + ": every node " + name + " supports runs on it";
  for (Offloaded& o : offloaded_) {
    PartitionReport::Part part_report;
    part_report.nodes = o.nodes;
    for (const Value* v : o.inputs) part_report.upload_bytes += v->bytes();
    for (const Value* v : o.outputs) part_report.download_bytes += v->bytes();
    part_report.uploads = static_cast<int>(o.inputs.size());
    part_report.downloads = static_cast<int>(o.outputs.size());
    part_report.memory = o.exe->memory();
    part_report.kernels = o.exe->kernel_names();
    rep.subgraphs.push_back(std::move(part_report));
    // The CPU ops of offloaded nodes go, with their packed weights.
    for (uint32_t n : o.nodes) {
      ops_[n].reset();
      node_packed_[n].clear();
    }
  }
  finish();
  return Status::Ok();
}

int Session::find_input(std::string_view name) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (values_[inputs_[i]].name == name) return static_cast<int>(i);
  return -1;
}

int Session::find_output(std::string_view name) const {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (values_[outputs_[i]].name == name) return static_cast<int>(i);
  return -1;
}

Status Session::set_input(std::string_view name, DType dtype, const Shape& shape, const void* data) {
  int i = find_input(name);
  if (i < 0) {
    std::string names;
    for (int32_t idx : inputs_) names += (names.empty() ? "'" : ", '") + std::string(values_[idx].name) + "'";
    return invalid_argument("model has no input '" + std::string(name) + "' (inputs: " + names + ")");
  }
  Value& v = input(static_cast<size_t>(i));
  if (dtype != v.dtype)
    return invalid_argument("input '" + std::string(name) + "' expects " + dtype_name(v.dtype) + ", got " + dtype_name(dtype));
  if (shape != v.shape)
    return invalid_argument("input '" + std::string(name) + "' expects shape " + shape_str(v.shape) + ", got " + shape_str(shape));
  if (v.bytes() != 0) std::memcpy(v.data, data, v.bytes());  // data may be NULL for an empty input
  return Status::Ok();
}

Status Session::apply_input_shapes(const std::vector<std::pair<std::string, Shape>>& shapes) {
  const fb::Graph& g = model_->graph();
  std::vector<Shape> next(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) next[i] = values_[inputs_[i]].shape;
  std::vector<uint8_t> given(inputs_.size(), 0);
  struct Binding {
    int64_t size;
    std::string input;
  };
  std::map<std::string, Binding> bound;  // symbolic dim name -> size, and the input that gave it
  auto dim_name = [&](size_t i, size_t d) -> std::string {
    const fb::Tensor* t = g.tensors()->Get(inputs_[i]);
    if (t->shape()->Get(static_cast<flatbuffers::uoffset_t>(d)) >= 0 || !t->dim_names() || d >= t->dim_names()->size())
      return "";
    const flatbuffers::String* s = t->dim_names()->Get(static_cast<flatbuffers::uoffset_t>(d));
    return s ? s->str() : "";
  };
  for (const auto& [name, shape] : shapes) {
    const int i = find_input(name);
    if (i < 0) {
      std::string names;
      for (int32_t idx : inputs_) names += (names.empty() ? "'" : ", '") + std::string(values_[idx].name) + "'";
      return invalid_argument("model has no input '" + name + "' (inputs: " + names + ")");
    }
    if (given[i]) return invalid_argument("input '" + name + "' is given two shapes");
    const fb::Tensor* t = g.tensors()->Get(inputs_[i]);
    if (shape.size() != t->shape()->size())
      return invalid_argument("input '" + name + "' has rank " + std::to_string(t->shape()->size()) + ", cannot take shape " +
                              shape_str(shape));
    for (int64_t d : shape)
      if (d < 0) return invalid_argument("input '" + name + "': negative dimension in " + shape_str(shape));
    if (num_elements(shape) < 0) return invalid_argument("input '" + name + "': shape " + shape_str(shape) + " is too large");
    for (size_t d = 0; d < shape.size(); ++d) {
      const std::string dn = dim_name(static_cast<size_t>(i), d);
      if (dn.empty()) continue;
      auto it = bound.find(dn);
      if (it != bound.end() && it->second.size != shape[d])
        return invalid_argument("symbolic dim '" + dn + "' is " + std::to_string(it->second.size) + " in input '" +
                                it->second.input + "' but " + std::to_string(shape[d]) + " in input '" + name + "'");
      bound[dn] = {shape[d], name};
    }
    next[i] = shape;
    given[i] = 1;
  }
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (given[i]) continue;
    for (size_t d = 0; d < next[i].size(); ++d) {
      auto it = bound.find(dim_name(i, d));
      if (it != bound.end()) next[i][d] = it->second.size;
    }
    if (num_elements(next[i]) < 0)
      return invalid_argument("input '" + std::string(values_[inputs_[i]].name) + "': shape " + shape_str(next[i]) + " is too large");
  }
  for (size_t i = 0; i < inputs_.size(); ++i) values_[inputs_[i]].shape = next[i];
  return Status::Ok();
}

Status Session::resize_inputs(const std::vector<std::pair<std::string, Shape>>& shapes) {
  std::vector<Shape> before(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) before[i] = values_[inputs_[i]].shape;
  POCKET_RETURN_IF_ERROR(apply_input_shapes(shapes));
  Status st = prepare_all();
  if (st.ok()) return st;
  // Back to the shapes that worked, so that the session stays usable.
  for (size_t i = 0; i < inputs_.size(); ++i) values_[inputs_[i]].shape = before[i];
  if (!prepare_all().ok()) return Status(st.code(), st.message() + " (and the previous shapes no longer prepare)");
  return st;
}

Status Session::resize_input(std::string_view name, const Shape& shape) {
  return resize_inputs({{std::string(name), shape}});
}

void Session::set_run_pool(pthreadpool_t pool) {
  if (pool == run_pool_) return;
  for (OpContext& ctx : contexts_) ctx.pool = pool;
  run_pool_ = pool;
}

void Session::run_ops(pthreadpool_t pool) {
  set_run_pool(pool);
  run_steps();
}

void Session::run_steps() {
  if (!run_status_.ok()) run_status_ = Status::Ok();
  for (const Step& st : steps_) run_step(st);
}

// A subgraph step: upload each input from its arena buffer, run, download each output into its
// arena buffer. A failure is kept in run_status_ (the first of the run); the next steps still run.
void Session::run_step(const Step& st) {
  if (st.subgraph < 0) {
    ops_[st.node]->run(contexts_[st.node]);
    return;
  }
  Offloaded& o = offloaded_[static_cast<size_t>(st.subgraph)];
  Status s;
  for (size_t i = 0; i < o.inputs.size() && s.ok(); ++i) s = o.exe->upload(i, o.inputs[i]->data, o.inputs[i]->bytes());
  if (s.ok()) s = o.exe->run();
  for (size_t i = 0; i < o.outputs.size() && s.ok(); ++i) s = o.exe->download(i, o.outputs[i]->data, o.outputs[i]->bytes());
  if (!s.ok() && run_status_.ok()) run_status_ = Status(s.code(), partition_.backend + " " + o.label + ": " + s.message());
}

// Adaptive threading. A parallel loop returns only when every worker has checked in, so when
// another process holds a worker's core, every parallel op waits for the scheduler to give that
// worker a slice, and a 2-thread run can be several times slower than a 1-thread one. Each run is
// timed; the mode not in use (pool or calling thread alone) is tried again every probe_interval
// runs (8, doubling up to 256 while the probes confirm the current mode), and sooner when the
// current mode gets slower than the other's last figure. A probe switches modes when it is more
// than 10% faster than the current mode's smoothed latency.
void Session::run() {
  if (!pool_ || !options_.adaptive_threads) {
    run_ops(pool_);
    return;
  }
  Adaptive& a = adaptive_;
  const bool probe = a.runs >= 2 && a.runs >= a.next_probe;
  const bool single = probe ? !a.single : a.single;
  const auto t0 = Clock::now();
  run_ops(single ? nullptr : pool_);
  const double ms = ms_since(t0);
  const int64_t run_index = a.runs++;
  if (single) a.single_runs++;
  if (run_index == 0) return;  // the first run pays for cold caches and page faults
  double& cur = a.single ? a.single_ms : a.pool_ms;
  double& other = a.single ? a.pool_ms : a.single_ms;
  if (!probe) {
    cur = cur < 0 ? ms : 0.75 * cur + 0.25 * ms;
    // Current mode got slower than the other one was: look again soon.
    if (other >= 0 && cur > other * 1.1 && a.next_probe > a.runs + 2) a.next_probe = a.runs + 2;
    return;
  }
  other = ms;
  if (cur >= 0 && ms < cur * 0.9) {
    a.single = single;
    a.probe_interval = 8;
  } else {
    a.probe_interval = std::min(a.probe_interval * 2, 256);
  }
  a.next_probe = a.runs + a.probe_interval;
}

void Session::run_profiled(std::vector<double>& op_seconds) {
  set_run_pool(pool_);
  op_seconds.assign(steps_.size(), 0.0);
  if (!run_status_.ok()) run_status_ = Status::Ok();
  for (size_t i = 0; i < steps_.size(); ++i) {
    auto t0 = Clock::now();
    run_step(steps_[i]);
    op_seconds[i] = std::chrono::duration<double>(Clock::now() - t0).count();
  }
}

std::vector<OpProfile> Session::profile_info() const {
  std::vector<OpProfile> out;
  std::vector<std::pair<int32_t, const KernelChoice*>> choice_of;
  for (const KernelChoice& c : choices_) choice_of.push_back({c.node, &c});
  for (const Step& st : steps_) {
    if (st.subgraph >= 0) {
      const Offloaded& o = offloaded_[static_cast<size_t>(st.subgraph)];
      OpProfile p;
      p.op = partition_.backend + " subgraph";
      p.name = o.label;
      p.kernel = partition_.backend;
      if (!o.outputs.empty()) p.output_shape = o.outputs[0]->shape;
      p.flops = o.flops;
      out.push_back(std::move(p));
      continue;
    }
    const uint32_t n = st.node;
    const OpContext& ctx = contexts_[n];
    OpProfile p;
    p.op = fb::EnumNameOpType(ctx.node->op());
    p.name = ctx.node->name() ? ctx.node->name()->str() : "";
    p.kernel = ops_[n]->kernel_name();
    for (const auto& [node, c] : choice_of)
      if (node == static_cast<int32_t>(n)) p.choice = choice_source_name(c->source);
    if (!ctx.outputs.empty()) p.output_shape = ctx.outputs[0]->shape;
    p.flops = ops_[n]->flops(ctx);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace pocket

namespace pocket {

namespace {

// Heap bytes behind a pointer from new/malloc (its allocator's block, 0 when unknown).
size_t heap_block_bytes(const void* p, size_t fallback) {
#if defined(__GLIBC__) || defined(__ANDROID__)
  return p ? malloc_usable_size(const_cast<void*>(p)) : 0;
#else
  return p ? fallback : 0;
#endif
}

std::string mib(size_t bytes) {
  char buf[48];
  if (bytes >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  return buf;
}

}  // namespace

MemoryReport Session::plan_memory_report(size_t arena) const {
  MemoryReport r;
  r.arena = arena;
  r.arena_lower_bound = arena_lower_bound_;
  // Packed buffers: each counted once, however many ops share it.
  std::unordered_set<const PackedWeights*> seen;
  for (const auto& node : node_packed_)
    for (const auto& [p, bytes] : node)
      if (seen.insert(p).second) r.packed_weights += bytes;
  seen.clear();
  for (const auto& b : converted_buffers_)
    if (b && seen.insert(b.get()).second) r.converted_constants += b->bytes();
  r.known_values = known_bytes_;
  r.xnnpack = xnn_account_ ? xnn_account_->bytes() : 0;
  for (const auto& op : ops_)
    if (op) r.op_private += op->private_bytes();
  r.device = partition_.device_allocated();

  // The session's own tables, as the heap holds them.
  size_t o = sizeof(Session);
  o += values_.capacity() * sizeof(Value);
  for (const Value& v : values_) o += v.shape.capacity() * sizeof(int64_t);
  o += (inputs_.capacity() + outputs_.capacity() + run_order_.capacity()) * sizeof(int32_t);
  o += ops_.capacity() * sizeof(void*);
  for (const auto& op : ops_) o += heap_block_bytes(op.get(), 128);
  o += contexts_.capacity() * sizeof(OpContext);
  for (const OpContext& c : contexts_) o += (c.inputs.capacity() + c.outputs.capacity()) * sizeof(void*);
  o += converted_values_.capacity() * sizeof(void*) + converted_values_.size() * sizeof(Value);
  for (const auto& v : converted_values_) o += v->shape.capacity() * sizeof(int64_t);
  o += converted_buffers_.capacity() * sizeof(converted_buffers_[0]) + converted_tensors_.capacity() * sizeof(int32_t);
  o += known_blocks_.capacity() * sizeof(void*);
  o += node_packed_.capacity() * sizeof(node_packed_[0]);
  for (const auto& n : node_packed_) o += n.capacity() * sizeof(n[0]);
  for (const KernelChoice& c : choices_) {
    o += sizeof(KernelChoice) + c.op.capacity() + c.name.capacity() + c.median_ms.capacity() * sizeof(double);
    for (const std::string& v : c.variants) o += sizeof(std::string) + v.capacity();
  }
  for (const std::string& n : notices_) o += sizeof(std::string) + n.capacity();
  // pthreadpool: its struct and one cache-line-aligned record per thread (their stacks are
  // mappings of their own, not heap: see pocket-bench).
  if (pool_) o += 256 + 128 * static_cast<size_t>(options_.num_threads);
  // The arena mapping rounds up to a page, plus a 64-byte tail.
  if (arena_mapped_ > arena) o += arena_mapped_ - arena;
  r.session_overhead = o;
  r.model_file = model_->file_size();
  return r;
}

MemoryReport Session::memory() const { return plan_memory_report(arena_bytes_); }

Status Session::check_budget(const MemoryReport& r, const char* when) const {
  const size_t total = r.total();
  if (total <= options_.memory_budget) return Status::Ok();
  std::string parts = "arena " + mib(r.arena) + ", packed weights " + mib(r.packed_weights);
  if (r.converted_constants) parts += ", converted constants " + mib(r.converted_constants);
  if (r.known_values) parts += ", known values " + mib(r.known_values);
  parts += ", XNNPACK " + mib(r.xnnpack);
  if (r.op_private) parts += ", op buffers " + mib(r.op_private);
  parts += ", session tables " + mib(r.session_overhead);
  return Status(StatusCode::kOutOfMemory, "memory plan needs " + mib(total) + " (" + std::to_string(total) + " bytes: " +
                                              parts + ") but the budget is " + mib(options_.memory_budget) + " (" +
                                              std::to_string(options_.memory_budget) + " bytes; checked " + when + ")");
}

}  // namespace pocket
