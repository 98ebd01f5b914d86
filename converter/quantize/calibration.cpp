// Calibration sets, running IR graphs with the engine on them, and range selection for static int8
// (min-max, percentile, entropy / KL divergence as TensorRT does), plus SQNR.
//
// Range rules (RangeObserver::range):
// - Non-finite values (NaN, +-inf) are ignored by the observers.
// - Every range includes 0 (an int8 zero point must represent real 0 exactly).
// - A tensor never seen, or all zero, gets [0, kMinSpan]: tiny but valid (positive scale).
// - minmax: [min, max] of every value seen.
// - percentile p: lo = the (100 - p)th and hi = the pth percentile, read from a two-sided
//   histogram (kSignedBins bins over pass 1's [min, max], linear inside a bin), so an asymmetric
//   post-activation range stays asymmetric.
// - entropy: TensorRT's threshold search. A kEntropyBins-bin histogram of |x| over [0, max |x|];
//   for every candidate threshold bin i (from the number of levels up to kEntropyBins) the
//   reference P is the first i bins with the mass beyond them added to bin i - 1, the candidate Q
//   is the first i bins merged into `levels` groups and expanded back (each group's mass spread
//   evenly over its non-empty bins); the i with the smallest KL(P || Q) gives T = i * bin width.
//   Exact zeros are left out of that histogram: every range includes 0, so they are represented
//   exactly whatever T is, and a ReLU output's spike at 0 would otherwise pull T far down (the
//   first group of Q spreads the spike over its bins). Signed tensors use |x| and 128 levels (the
//   symmetric int8 grid has about 128 steps a side) and get [-T, T]; non-negative tensors use 255
//   levels (an asymmetric [0, T] grid has 255 steps) and get [0, T]. The result is then clipped to the observed [min, max] (values never leave it, so
//   that only removes unused codes, e.g. the negative side of a HardSwish output).
#include "converter/quantize/calibration.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>

#include "converter/convert.h"
#include "converter/passes/shape_inference_util.h"
#include "engine/model.h"
#include "engine/session.h"
#include "engine/tensor.h"
#include "kernels/transform/transform.h"
#include "tools/common/image.h"
#include "tools/common/npy.h"

namespace pocket::converter::quantize {

namespace fs = std::filesystem;

int64_t HostTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string shape_text(const std::vector<int64_t>& s, const std::vector<std::string>& names = {}) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) {
    if (k) out += ", ";
    if (s[k] >= 0) out += std::to_string(s[k]);
    else out += k < names.size() && !names[k].empty() ? names[k] : "?";
  }
  return out + "]";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_npy(const fs::path& p) { return lower(p.extension().string()) == ".npy"; }

bool is_image(const fs::path& p) {
  static const std::set<std::string> kExt = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"};
  return kExt.count(lower(p.extension().string())) != 0;
}

// Sample files (.npy and images, not hidden) directly in dir, by name.
Status list_sample_files(const fs::path& dir, std::vector<std::string>* names) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return io_error("calibration folder '" + dir.string() + "' does not exist");
  if (!fs::is_directory(dir, ec)) return io_error("calibration path '" + dir.string() + "' is not a folder");
  names->clear();
  fs::directory_iterator it(dir, ec), end;
  if (ec) return io_error("cannot list calibration folder '" + dir.string() + "': " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return io_error("cannot list calibration folder '" + dir.string() + "': " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!it->is_regular_file(ec)) continue;
    if (is_npy(p) || is_image(p)) names->push_back(name);
  }
  std::sort(names->begin(), names->end());
  if (names->empty())
    return invalid_argument("calibration folder '" + dir.string() +
                            "' holds no samples (.npy files or .png/.jpg/.jpeg/.bmp/.ppm/.pgm images)");
  return Status::Ok();
}

// Fits a sample's shape to the input's: equal ranks with static dims equal (symbolic dims take
// any size), or a leading batch dim of 1 missing (added) or extra (dropped).
bool fit_shape(const ir::Value& in, std::vector<int64_t>* shape) {
  if (!in.shape_known) return true;
  auto matches = [&](const std::vector<int64_t>& s) {
    if (s.size() != in.shape.size()) return false;
    for (size_t k = 0; k < s.size(); ++k)
      if (in.shape[k] >= 0 && in.shape[k] != s[k]) return false;
    return true;
  };
  if (matches(*shape)) return true;
  if (shape->size() + 1 == in.shape.size() && in.shape[0] <= 1) {
    std::vector<int64_t> s = *shape;
    s.insert(s.begin(), 1);
    if (matches(s)) {
      *shape = std::move(s);
      return true;
    }
  }
  if (shape->size() == in.shape.size() + 1 && (*shape)[0] == 1) {
    std::vector<int64_t> s(shape->begin() + 1, shape->end());
    if (matches(s)) {
      *shape = std::move(s);
      return true;
    }
  }
  return false;
}

Status shape_error(const std::string& path, const std::string& name, const ir::Value& in,
                   const std::vector<int64_t>& shape) {
  return invalid_argument("calibration sample '" + path + "' has shape " + shape_text(shape) + ", input '" + name +
                          "' is " + shape_text(in.shape, in.dim_names));
}

Status load_npy_sample(const std::string& path, const std::string& name, const ir::Value& in, HostTensor* out) {
  tools::NpyArray a;
  std::string error;
  if (!tools::read_npy(path, &a, &error)) return io_error("calibration sample: " + error);
  const DType dt = static_cast<DType>(a.dtype);
  if (dt != in.dtype)
    return invalid_argument("calibration sample '" + path + "' is " + dtype_name(dt) + ", input '" + name + "' is " +
                            dtype_name(in.dtype) + " (save it with .astype(np." + dtype_name(in.dtype) + "))");
  std::vector<int64_t> shape = a.shape;
  if (!fit_shape(in, &shape)) return shape_error(path, name, in, a.shape);
  out->dtype = dt;
  out->shape = std::move(shape);
  out->data = std::move(a.data);
  return Status::Ok();
}

// The model's image preprocessing: graph.metadata's when set, else what the writer records for an
// image-like input without --mean/--std/--input-size (the input's size, pixels 0..255 as they are,
// stretch), so calibration sees the values the written model will be given.
Status image_preprocessing(const ir::Graph& g, const std::string& name, const ir::Value& in, tools::Preprocessing* p, int* channels,
                           std::vector<int64_t>* shape) {
  if (!in.shape_known || in.shape.size() != 4)
    return invalid_argument("input '" + name + "' " + shape_text(in.shape, in.dim_names) +
                            " is not an image input (rank 4): give .npy samples instead of images");
  if (in.dtype != DType::F32 && in.dtype != DType::U8)
    return invalid_argument("input '" + name + "' is " + std::string(dtype_name(in.dtype)) +
                            ": images need a float32 or uint8 input; give .npy samples instead");
  const format::MetadataDesc& md = g.metadata;
  std::string layout = md.has_preprocessing ? md.preprocessing.layout : "";
  if (layout.empty()) {
    if (in.shape[1] == 1 || in.shape[1] == 3) layout = "NCHW";
    else if (in.shape[3] == 1 || in.shape[3] == 3) layout = "NHWC";
    else
      return invalid_argument("cannot tell the image layout of input '" + name + "' " +
                              shape_text(in.shape, in.dim_names) + " (1 or 3 channels expected)");
  }
  const bool nchw = layout == "NCHW";
  const int64_t c = nchw ? in.shape[1] : in.shape[3];
  const int64_t h = nchw ? in.shape[2] : in.shape[1];
  const int64_t w = nchw ? in.shape[3] : in.shape[2];
  p->layout = layout;
  if (md.has_preprocessing) {
    const format::PreprocessDesc& d = md.preprocessing;
    p->width = d.width;
    p->height = d.height;
    p->color_order = d.color_order;
    p->scale = d.scale;
    p->mean = d.mean;
    p->std = d.std;
    p->resize = d.resize;
  } else {
    p->width = 0;
    p->height = 0;
    p->color_order = "RGB";
    p->scale = 1.f;
    p->mean.clear();
    p->std.clear();
    p->resize = "stretch";
  }
  if (p->width <= 0) p->width = static_cast<int>(w);
  if (p->height <= 0) p->height = static_cast<int>(h);
  if (p->width <= 0 || p->height <= 0)
    return invalid_argument("input '" + name + "' " + shape_text(in.shape, in.dim_names) +
                            " has a symbolic image size and the model has no preprocessing size");
  std::string error;
  if (!tools::validate_preprocessing(*p, static_cast<int>(c), &error))
    return invalid_argument("input '" + name + "': " + error);
  *channels = static_cast<int>(c);
  *shape = nchw ? std::vector<int64_t>{1, c, p->height, p->width} : std::vector<int64_t>{1, p->height, p->width, c};
  return Status::Ok();
}

Status load_image_sample(const std::string& path, const ir::Graph& g, const std::string& name, const ir::Value& in,
                         HostTensor* out) {
  tools::Preprocessing p;
  int channels = 0;
  std::vector<int64_t> shape;
  Status st = image_preprocessing(g, name, in, &p, &channels, &shape);
  if (!st.ok()) return invalid_argument("calibration sample '" + path + "': " + st.message());
  if (!fit_shape(in, &shape)) return shape_error(path, name, in, shape);
  tools::Image img, ready;
  std::string error;
  if (!tools::load_image(path, &img, &error)) return io_error("calibration sample: " + error);
  if (!tools::resize_for_model(img, p, &ready, &error)) return io_error("calibration sample '" + path + "': " + error);
  out->dtype = in.dtype;
  out->shape = shape;
  const size_t n = static_cast<size_t>(channels) * p.width * p.height;
  if (in.dtype == DType::F32) {
    out->data.assign(n * sizeof(float), 0);
    tools::image_to_f32(ready, p, channels, reinterpret_cast<float*>(out->data.data()));
  } else {
    out->data.assign(n, 0);
    tools::image_to_u8(ready, p, channels, out->data.data());
  }
  return Status::Ok();
}

Status load_sample_file(const std::string& path, const ir::Graph& g, const std::string& name, const ir::Value& in,
                        HostTensor* out) {
  if (is_npy(path)) return load_npy_sample(path, name, in, out);
  return load_image_sample(path, g, name, in, out);
}

}  // namespace

Status load_calibration_set(const std::string& dir, const ir::Graph& graph, int max_samples,
                            std::vector<Sample>* samples) {
  samples->clear();
  if (graph.inputs.empty()) return invalid_argument("the model has no inputs to calibrate");
  std::vector<const ir::Value*> inputs;
  for (const std::string& name : graph.inputs) {
    const ir::Value* v = graph.find(name);
    if (!v) return internal_error("calibration: graph input '" + name + "' has no value");
    inputs.push_back(v);
  }
  const fs::path root(dir);
  std::vector<std::string> names;
  std::vector<fs::path> folders;
  std::error_code ec;
  if (inputs.size() == 1) {
    // The files directly in dir, or in dir/<input name> (the several-input layout) when dir has none.
    fs::path folder = root;
    Status st = list_sample_files(root, &names);
    if (!st.ok() && fs::is_directory(root / graph.inputs[0], ec)) {
      folder = root / graph.inputs[0];
      st = list_sample_files(folder, &names);
    }
    POCKET_RETURN_IF_ERROR(st);
    folders.push_back(folder);
  } else {
    if (!fs::is_directory(root, ec)) return io_error("calibration folder '" + dir + "' does not exist");
    std::vector<std::vector<std::string>> lists;
    std::string all;
    for (const std::string& name : graph.inputs) all += (all.empty() ? "" : ", ") + name;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const fs::path sub = root / graph.inputs[i];
      if (!fs::is_directory(sub, ec))
        return invalid_argument("calibration folder '" + dir + "' has no sub-folder '" + graph.inputs[i] +
                                "': a model with several inputs (" + all + ") takes one sub-folder per input");
      std::vector<std::string> list;
      POCKET_RETURN_IF_ERROR(list_sample_files(sub, &list));
      lists.push_back(std::move(list));
      folders.push_back(sub);
    }
    // Every file name in every folder: a name missing in one folder is an error naming it.
    std::set<std::string> every;
    for (const auto& l : lists) every.insert(l.begin(), l.end());
    for (size_t k = 0; k < lists.size(); ++k) {
      std::set<std::string> have(lists[k].begin(), lists[k].end());
      for (const std::string& n : every)
        if (!have.count(n)) {
          std::string where;
          for (size_t j = 0; j < lists.size(); ++j)
            if (j != k && std::binary_search(lists[j].begin(), lists[j].end(), n)) {
              where = (folders[j] / n).string();
              break;
            }
          return invalid_argument("calibration sample '" + (folders[k] / n).string() + "' is missing (input '" +
                                  graph.inputs[k] + "'; '" + where + "' exists)");
        }
    }
    names.assign(every.begin(), every.end());
  }
  if (max_samples > 0 && names.size() > static_cast<size_t>(max_samples)) names.resize(static_cast<size_t>(max_samples));
  samples->reserve(names.size());
  for (const std::string& n : names) {
    Sample s;
    for (size_t k = 0; k < inputs.size(); ++k) {
      HostTensor t;
      Status st = load_sample_file((folders[k] / n).string(), graph, graph.inputs[k], *inputs[k], &t);
      if (!st.ok()) {
        samples->clear();
        return st;
      }
      s.emplace(graph.inputs[k], std::move(t));
    }
    samples->push_back(std::move(s));
  }
  return Status::Ok();
}

// ---- progress bar ------------------------------------------------------------------------------

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && total > 0), tty_(enabled_ && isatty(2) != 0),
      start_(now_seconds()) {}

ProgressBar::~ProgressBar() {
  if (enabled_ && tty_ && done_ > 0) std::fputc('\n', stderr);
}

void ProgressBar::step(size_t n) {
  if (!enabled_) return;
  done_ = std::min(total_, done_ + n);
  const int decile = static_cast<int>(done_ * 10 / total_);
  if (!tty_ && (decile <= last_decile_ || decile == 0)) return;
  last_decile_ = decile;
  constexpr size_t kWidth = 30;
  const size_t filled = done_ * kWidth / total_;
  std::string bar(kWidth, ' ');
  for (size_t k = 0; k < filled; ++k) bar[k] = '=';
  if (filled > 0 && filled < kWidth) bar[filled - 1] = '>';
  const int digits = static_cast<int>(std::to_string(total_).size());
  std::fprintf(stderr, "%s%s %*zu/%zu [%s] %.1f s%s", tty_ ? "\r" : "", label_.c_str(), digits, done_, total_,
               bar.c_str(), now_seconds() - start_, tty_ ? "" : "\n");
  std::fflush(stderr);
}

// ---- running a graph on samples ------------------------------------------------------------------

namespace {

// real = scale * (q - zero_point), per tensor (axis < 0 or one scale) or along axis.
void dequantize_i8(const int8_t* q, int64_t n, const std::vector<int64_t>& shape, const float* scales, size_t nscales,
                   const int64_t* zps, size_t nzps, int axis, float* out) {
  if (axis < 0 || nscales <= 1 || static_cast<size_t>(axis) >= shape.size()) {
    const float s = nscales ? scales[0] : 1.f;
    const int64_t z = nzps ? zps[0] : 0;
    for (int64_t i = 0; i < n; ++i) out[i] = s * static_cast<float>(q[i] - z);
    return;
  }
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t dim = shape[static_cast<size_t>(axis)];
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>((i / inner) % dim);
    const float s = c < nscales ? scales[c] : scales[0];
    const int64_t z = c < nzps ? zps[c] : 0;
    out[i] = s * static_cast<float>(q[i] - z);
  }
}

// F32 copy of raw data; false for dtypes without a float meaning (bool, int4).
bool to_f32(DType dt, const void* data, const std::vector<int64_t>& shape, const format::QuantDesc* quant,
            const fb::Quantization* fbq, HostTensor* out) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n < 0) return false;
  out->dtype = DType::F32;
  out->shape = shape;
  out->data.assign(static_cast<size_t>(n) * sizeof(float), 0);
  float* y = reinterpret_cast<float*>(out->data.data());
  switch (dt) {
    case DType::F32: if (n) std::memcpy(y, data, static_cast<size_t>(n) * sizeof(float)); return true;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::f16_to_f32(static_cast<const uint16_t*>(data)[i]);
      return true;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
      return true;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<const double*>(data)[i]);
      return true;
    case DType::I64:
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<const int64_t*>(data)[i]);
      return true;
    case DType::I32:
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<const int32_t*>(data)[i]);
      return true;
    case DType::U8:
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<const uint8_t*>(data)[i]);
      return true;
    case DType::I8: {
      const int8_t* q = static_cast<const int8_t*>(data);
      if (quant) {
        dequantize_i8(q, n, shape, quant->scales.data(), quant->scales.size(), quant->zero_points.data(),
                      quant->zero_points.size(), quant->axis, y);
      } else if (fbq && fbq->scales() && fbq->scales()->size() > 0) {
        std::vector<float> s(fbq->scales()->begin(), fbq->scales()->end());
        std::vector<int64_t> z;
        if (fbq->zero_points()) z.assign(fbq->zero_points()->begin(), fbq->zero_points()->end());
        dequantize_i8(q, n, shape, s.data(), s.size(), z.data(), z.size(), fbq->axis(), y);
      } else {
        for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(q[i]);
      }
      return true;
    }
    default:
      return false;
  }
}

bool same_shape(const Shape& a, const std::vector<int64_t>& b) { return a == b; }

}  // namespace

SampleRunner::SampleRunner() = default;
SampleRunner::~SampleRunner() = default;

Status SampleRunner::init(const ir::Graph& graph, const std::vector<std::string>& tensors, const Sample& first) {
  names_.clear();
  inputs_.clear();
  constants_.clear();
  input_quant_.clear();
  session_.reset();
  std::set<std::string> seen;
  ir::Graph g = graph;  // values are copied; constant data is shared
  for (const std::string& name : tensors.empty() ? graph.outputs : tensors) {
    if (!seen.insert(name).second) continue;
    names_.push_back(name);
    const ir::Value* v = graph.find(name);
    if (!v) return invalid_argument("calibration: the graph has no value '" + name + "'");
    if (std::find(graph.inputs.begin(), graph.inputs.end(), name) != graph.inputs.end()) continue;
    if (v->is_constant()) {
      HostTensor t;
      if (to_f32(v->dtype, v->data->data(), v->shape, v->has_quant ? &v->quant : nullptr, nullptr, &t))
        constants_.emplace(name, std::move(t));
      continue;
    }
    if (graph.producer(name) < 0) return invalid_argument("calibration: no node produces value '" + name + "'");
    if (!g.is_output(name)) g.outputs.push_back(name);
  }
  auto bytes = write_pocket(g, ConvertOptions{});
  if (!bytes.ok()) return Status(bytes.status().code(), "calibration: cannot write the graph: " + bytes.status().message());
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  if (!model.ok())
    return Status(model.status().code(), "calibration: cannot load the graph: " + model.status().message());
  SessionOptions so;
  // One thread: on a loaded machine a pool's workers wait for busy cores at every op (squeezenet,
  // 7 samples at load 13 on 2 cores: 9.9 s with a 2-thread pool, 1.15 s on the calling thread).
  so.num_threads = 1;
  for (const std::string& in : graph.inputs) {
    auto it = first.find(in);
    if (it == first.end()) return invalid_argument("calibration sample 0 has no value for input '" + in + "'");
    so.input_shapes.emplace_back(in, it->second.shape);
  }
  auto session = Session::create(model.value(), so);
  if (!session.ok())
    return Status(session.status().code(), "calibration: cannot create a session: " + session.status().message());
  session_ = std::move(session.value());
  inputs_ = graph.inputs;
  for (const std::string& in : graph.inputs)
    if (const ir::Value* v = graph.find(in); v && v->has_quant) input_quant_[in] = v->quant;
  return Status::Ok();
}

Status SampleRunner::run(size_t index, const Sample& sample, std::map<std::string, HostTensor>* values) {
  if (!session_) return internal_error("calibration: SampleRunner::run before a successful init");
  std::vector<std::pair<std::string, Shape>> shapes;
  bool resize = false;
  for (const std::string& in : inputs_) {
    auto it = sample.find(in);
    if (it == sample.end())
      return invalid_argument("calibration sample " + std::to_string(index) + " has no value for input '" + in + "'");
    const int k = session_->find_input(in);
    if (k < 0) return internal_error("calibration: the session has no input '" + in + "'");
    if (!same_shape(session_->input(static_cast<size_t>(k)).shape, it->second.shape)) resize = true;
    shapes.emplace_back(in, it->second.shape);
  }
  if (resize) {
    Status st = session_->resize_inputs(shapes);
    if (!st.ok()) return Status(st.code(), "calibration sample " + std::to_string(index) + ": " + st.message());
  }
  for (const std::string& in : inputs_) {
    const HostTensor& t = sample.at(in);
    Status st = session_->set_input(in, t.dtype, t.shape, t.data.data());
    if (!st.ok()) return Status(st.code(), "calibration sample " + std::to_string(index) + ": " + st.message());
  }
  session_->run();
  values->clear();
  for (const std::string& name : names_) {
    HostTensor t;
    if (auto c = constants_.find(name); c != constants_.end()) {
      values->emplace(name, c->second);
      continue;
    }
    if (auto s = sample.find(name); s != sample.end()) {
      auto iq = input_quant_.find(name);
      const format::QuantDesc* q = iq != input_quant_.end() ? &iq->second : nullptr;
      if (to_f32(s->second.dtype, s->second.data.data(), s->second.shape, q, nullptr, &t))
        values->emplace(name, std::move(t));
      continue;
    }
    const int o = session_->find_output(name);
    if (o < 0) continue;  // a constant of a dtype without a float meaning
    const Value& v = session_->output(static_cast<size_t>(o));
    if (!v.data && v.elements() != 0) return internal_error("calibration: output '" + name + "' has no data");
    if (to_f32(v.dtype, v.data, v.shape, nullptr, v.quant, &t)) values->emplace(name, std::move(t));
  }
  return Status::Ok();
}


namespace {

Status run_all(SampleRunner& runner, const std::vector<Sample>& samples, const ValuesFn& fn, ProgressBar* progress) {
  std::map<std::string, HostTensor> values;
  for (size_t i = 0; i < samples.size(); ++i) {
    POCKET_RETURN_IF_ERROR(runner.run(i, samples[i], &values));
    POCKET_RETURN_IF_ERROR(fn(i, values));
    if (progress) progress->step();
  }
  return Status::Ok();
}

}  // namespace

Status run_on_samples(const ir::Graph& graph, const std::vector<Sample>& samples,
                      const std::vector<std::string>& tensors, const ValuesFn& fn, ProgressBar* progress) {
  if (samples.empty()) return invalid_argument("calibration: no samples to run");
  SampleRunner runner;
  POCKET_RETURN_IF_ERROR(runner.init(graph, tensors, samples[0]));
  return run_all(runner, samples, fn, progress);
}

// ---- ranges ------------------------------------------------------------------------------------

void RangeObserver::add_minmax(const float* x, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo > hi) return;
  if (!seen_) {
    min_ = lo;
    max_ = hi;
    seen_ = true;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
}

void RangeObserver::add_histogram(const float* x, int64_t n) {
  if (!seen_) return;
  if (hist_.empty()) {
    hist_.assign(kSignedBins, 0.0);
    abs_hist_.assign(kEntropyBins, 0.0);
  }
  const double span = static_cast<double>(max_) - min_;
  const double amax = std::max(std::fabs(static_cast<double>(min_)), std::fabs(static_cast<double>(max_)));
  const double to_bin = span > 0 ? kSignedBins / span : 0;
  const double to_abs = amax > 0 ? kEntropyBins / amax : 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!std::isfinite(v)) continue;
    const int64_t b = std::clamp<int64_t>(static_cast<int64_t>((v - min_) * to_bin), 0, kSignedBins - 1);
    const int64_t a = std::clamp<int64_t>(static_cast<int64_t>(std::fabs(v) * to_abs), 0, kEntropyBins - 1);
    hist_[static_cast<size_t>(b)] += 1;
    if (v != 0) abs_hist_[static_cast<size_t>(a)] += 1;
  }
}

namespace {

// The value below which a fraction q of the histogram's mass lies (linear inside a bin).
double hist_quantile(const std::vector<double>& h, double lo, double hi, double q) {
  double total = 0;
  for (double c : h) total += c;
  const double target = q * total;
  const double width = (hi - lo) / static_cast<double>(h.size());
  double cum = 0;
  for (size_t b = 0; b < h.size(); ++b) {
    if (h[b] > 0 && cum + h[b] >= target) return lo + (static_cast<double>(b) + (target - cum) / h[b]) * width;
    cum += h[b];
  }
  return hi;
}

}  // namespace

// KL(P || Q) for every candidate i in O(levels) from prefix sums: with p_k = P_k / total and Q
// constant (q_g) over the non-zero P bins of group g,
//   KL = sum_k p_k log p_k - sum_g (P mass of g / total) log q_g,
// the first sum from a prefix sum of h log h (plus the outlier bin), the second per group.
double entropy_threshold(const std::vector<double>& h, double amax, int levels) {
  const int bins = static_cast<int>(h.size());
  if (bins == 0 || levels <= 0 || !(amax > 0)) return 0;
  const double width = amax / bins;
  int last = -1;
  for (int b = 0; b < bins; ++b)
    if (h[b] > 0) last = b;
  if (last < 0) return 0;
  if (last + 1 <= levels) return (last + 1) * width;  // no clipping can help
  std::vector<double> mass(static_cast<size_t>(bins) + 1, 0.0), hlogh(mass.size(), 0.0);
  std::vector<int> nonzero(mass.size(), 0);
  for (int b = 0; b < bins; ++b) {
    mass[b + 1] = mass[b] + h[b];
    hlogh[b + 1] = hlogh[b] + (h[b] > 0 ? h[b] * std::log(h[b]) : 0.0);
    nonzero[b + 1] = nonzero[b] + (h[b] > 0);
  }
  const double total = mass[bins], log_total = std::log(total);
  double best = std::numeric_limits<double>::infinity();
  int best_i = last + 1;
  for (int i = levels; i <= last + 1; ++i) {
    const double outliers = total - mass[i];
    const double p_last = h[i - 1] + outliers;  // > 0: bin i - 1 or beyond holds mass (i <= last + 1)
    const double q_total = mass[i];
    const double eps = 1e-4 / i;
    // sum_k p_k log p_k over the non-zero P bins.
    double kl = (hlogh[i - 1] + p_last * std::log(p_last)) / total - log_total;
    for (int j = 0; j < levels; ++j) {
      const int start = static_cast<int>(static_cast<int64_t>(j) * i / levels);
      const int end = static_cast<int>(static_cast<int64_t>(j + 1) * i / levels);
      if (end <= start) continue;
      const double sum = mass[end] - mass[start];
      int count = nonzero[end] - nonzero[start];
      double p_mass = sum;
      if (end == i) {
        p_mass += outliers;
        if (h[i - 1] <= 0) ++count;  // the outlier bin is non-zero in P
      }
      if (p_mass <= 0) continue;
      const double q = q_total > 0 && sum > 0 ? sum / count / q_total : eps;
      kl -= p_mass / total * std::log(q);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i * width;
}

std::pair<float, float> RangeObserver::range(CalibrationMethod method, double percentile) const {
  double lo = min_, hi = max_;
  const bool hist = !hist_.empty() && std::any_of(hist_.begin(), hist_.end(), [](double c) { return c > 0; });
  if (seen_ && hist && max_ > min_) {
    if (method == CalibrationMethod::kPercentile) {
      const double p = std::clamp(percentile, 0.0, 100.0) / 100.0;
      lo = hist_quantile(hist_, min_, max_, 1.0 - p);
      hi = hist_quantile(hist_, min_, max_, p);
      if (lo > hi) std::swap(lo, hi);
    } else if (method == CalibrationMethod::kEntropy) {
      const double amax = std::max(std::fabs(static_cast<double>(min_)), std::fabs(static_cast<double>(max_)));
      if (min_ >= 0) {
        lo = 0;
        hi = entropy_threshold(abs_hist_, amax, 255);
      } else {
        const double t = entropy_threshold(abs_hist_, amax, 128);
        lo = -t;
        hi = t;
      }
      lo = std::max(lo, static_cast<double>(min_));
      hi = std::min(hi, static_cast<double>(max_));
    }
  }
  if (!seen_) lo = hi = 0;
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (hi - lo < kMinSpan) hi = lo + kMinSpan;
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

Status calibrate_ranges(const ir::Graph& graph, const std::vector<Sample>& samples,
                        const std::vector<std::string>& tensors, CalibrationMethod method, double percentile,
                        std::map<std::string, std::pair<float, float>>* ranges, bool progress) {
  ranges->clear();
  if (method == CalibrationMethod::kPercentile && !(percentile > 0 && percentile <= 100))
    return invalid_argument("percentile must be in (0, 100], not " + std::to_string(percentile));
  if (samples.empty()) return invalid_argument("calibration: no samples");
  const std::vector<std::string>& names = tensors.empty() ? graph.outputs : tensors;
  std::map<std::string, RangeObserver> observers;
  RangeObserver probe;
  const bool two_passes = probe.needs_histogram(method);
  ProgressBar bar("calibrating", samples.size() * (two_passes ? 2 : 1), progress);
  SampleRunner runner;
  POCKET_RETURN_IF_ERROR(runner.init(graph, names, samples[0]));
  POCKET_RETURN_IF_ERROR(run_all(runner, samples, [&](size_t, const std::map<std::string, HostTensor>& values) {
    for (const auto& [name, t] : values) observers[name].add_minmax(t.f32(), t.elements());
    return Status::Ok();
  }, &bar));
  if (two_passes) {
    POCKET_RETURN_IF_ERROR(run_all(runner, samples, [&](size_t, const std::map<std::string, HostTensor>& values) {
      for (const auto& [name, t] : values) observers[name].add_histogram(t.f32(), t.elements());
      return Status::Ok();
    }, &bar));
  }
  for (const std::string& name : names) {
    auto it = observers.find(name);
    if (it != observers.end()) (*ranges)[name] = it->second.range(method, percentile);
  }
  return Status::Ok();
}

// Ref all zero: +inf when x is all zero too, else -inf (any error is infinitely large relative to
// no signal). n == 0: +inf. A non-finite error (NaN or inf in x): -inf.
double sqnr_db(const float* ref, const float* x, int64_t n) {
  double signal = 0, noise = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref[i], d = r - static_cast<double>(x[i]);
    signal += r * r;
    noise += d * d;
  }
  if (!std::isfinite(noise)) return -std::numeric_limits<double>::infinity();
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

}  // namespace pocket::converter::quantize
