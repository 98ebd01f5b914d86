// The quantization driver: option checks, calibration, the rewrite of the requested precision,
// SQNR measurement on the calibration set and the accuracy-aware mixed-precision search.
//
// Mixed precision (--max-error DB): the quantized model's output SQNR against the fp32 model is
// measured over the calibration samples (all outputs together). While it is below DB, layers go
// float, most damaging first, and the model is re-quantized and re-measured after each step,
// until the budget is met or no int8 layer is left. Damage: on models with at most 24 int8 layers,
// the model's output SQNR with that layer alone quantized (measured once per layer). On bigger
// models a cheaper proxy, re-measured every step in one run: the relative noise power the layer
// adds, 10^(-SQNR(output)/10) - 10^(-SQNR(float input)/10), both against fp32; 1/16 of the
// remaining int8 layers go float per step. When a chosen layer's output is 20 dB worse than the
// int8 tensor it reads, that tensor's int8 producer goes float with it (the damage is in the
// tensor: an outlier channel in a per-tensor range hurts where the consumer drops the outlier).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "converter/quantize/calibration.h"
#include "converter/quantize/quantize_internal.h"

namespace pocket::converter::quantize {

namespace {

using detail::FloatSet;

constexpr double kSqnrCap = 100.0;
constexpr size_t kChunk = 8;  // samples per measurement chunk (fp32 reference values held in memory)

double capped(double db) { return std::isnan(db) ? -kSqnrCap : std::min(db, kSqnrCap); }

std::string fmt_db(double db) {
  char buf[32];
  if (std::isinf(db)) return db > 0 ? "inf dB" : "-inf dB";
  std::snprintf(buf, sizeof buf, "%.1f dB", db);
  return buf;
}

struct Accum {
  double signal = 0, noise = 0;
  bool bad = false;
  void add(const HostTensor& ref, const HostTensor& x) {
    if (ref.shape != x.shape || ref.dtype != ir::DType::F32 || x.dtype != ir::DType::F32) {
      bad = true;
      return;
    }
    const float* r = ref.f32();
    const float* q = x.f32();
    for (int64_t i = 0, n = ref.elements(); i < n; ++i) {
      const double d = static_cast<double>(r[i]) - q[i];
      signal += static_cast<double>(r[i]) * r[i];
      noise += d * d;
    }
  }
  double db() const {
    if (bad || !std::isfinite(noise)) return -std::numeric_limits<double>::infinity();
    if (noise == 0) return std::numeric_limits<double>::infinity();
    if (signal == 0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
  }
};

// SQNR of the model outputs (all together) and of `tensors` (each) of gq against g0.
Status measure(const ir::Graph& g0, const ir::Graph& gq, const std::vector<Sample>& samples,
               const std::vector<std::string>& tensors, bool progress, const char* label, double* model_db,
               std::map<std::string, double>* tensor_db) {
  std::vector<std::string> names = g0.outputs;
  std::set<std::string> outs(g0.outputs.begin(), g0.outputs.end());
  for (const std::string& t : tensors)
    if (!outs.count(t) && gq.find(t) && std::find(names.begin(), names.end(), t) == names.end()) names.push_back(t);
  Accum model;
  std::map<std::string, Accum> acc;
  ProgressBar bar(label, samples.size() * 2, progress);
  for (size_t start = 0; start < samples.size(); start += kChunk) {
    std::vector<Sample> chunk(samples.begin() + start, samples.begin() + std::min(samples.size(), start + kChunk));
    std::vector<std::map<std::string, HostTensor>> ref(chunk.size());
    POCKET_RETURN_IF_ERROR(run_on_samples(g0, chunk, names, [&](size_t i, const std::map<std::string, HostTensor>& v) {
      ref[i] = v;
      return Status::Ok();
    }, &bar));
    POCKET_RETURN_IF_ERROR(run_on_samples(gq, chunk, names, [&](size_t i, const std::map<std::string, HostTensor>& v) {
      for (const auto& [name, x] : v) {
        auto r = ref[i].find(name);
        if (r == ref[i].end()) continue;
        if (outs.count(name)) model.add(r->second, x);
        acc[name].add(r->second, x);
      }
      return Status::Ok();
    }, &bar));
  }
  *model_db = model.db();
  if (tensor_db) {
    tensor_db->clear();
    for (const auto& [name, a] : acc) (*tensor_db)[name] = a.db();
  }
  return Status::Ok();
}

void totals(const ir::Graph& g0, const ir::Graph& g, QuantizeReport* r) {
  r->weight_bytes_fp32 = r->weight_bytes = 0;
  for (const auto& [name, v] : g0.values)
    if (v.is_constant() && (v.dtype == ir::DType::F32 || v.dtype == ir::DType::F16 || v.dtype == ir::DType::I8))
      r->weight_bytes_fp32 += static_cast<uint64_t>(std::max<int64_t>(v.elements(), 0)) * 4;
  for (const auto& [name, v] : g.values)
    if (v.is_constant() && (v.dtype == ir::DType::F32 || v.dtype == ir::DType::F16 || v.dtype == ir::DType::I8))
      r->weight_bytes += detail::constant_bytes(v);
}

// Builds the quantized graph of one float set (static: calibrating any value not seen yet).
class Builder {
 public:
  Builder(const ir::Graph& g0, const QuantizeOptions& o, const std::vector<Sample>& samples)
      : g0_(g0), o_(o), samples_(samples) {}

  Status build(const FloatSet& fs, ir::Graph* out, QuantizeReport* r) {
    *out = g0_;
    r->layers.clear();
    r->transitions = 0;
    if (o_.precision == Precision::kInt8Dynamic) {
      POCKET_RETURN_IF_ERROR(detail::apply_int8_dynamic(*out, fs, r));
      return detail::store_large_f32_as_fp16(*out, fs, r);
    }
    detail::StaticPlan plan = detail::plan_int8_static(g0_, fs);
    std::vector<std::string> missing;
    for (const std::string& v : plan.needs_range)
      if (!ranges_.count(v)) missing.push_back(v);
    if (!missing.empty()) {
      std::map<std::string, std::pair<float, float>> got;
      POCKET_RETURN_IF_ERROR(calibrate_ranges(g0_, samples_, missing, o_.method, o_.percentile, &got, o_.progress));
      for (const std::string& v : missing) {
        auto it = got.find(v);
        if (it == got.end()) return internal_error("calibration gave no range for '" + v + "'");
        ranges_[v] = it->second;
      }
    }
    POCKET_RETURN_IF_ERROR(detail::apply_int8_static(*out, plan, ranges_, fs, r));
    return detail::store_large_f32_as_fp16(*out, fs, r);
  }

  // Calibrates, in one pass, the float activations among `names` not calibrated yet (static only).
  Status prefetch(const std::vector<std::string>& names) {
    if (o_.precision != Precision::kInt8) return Status::Ok();
    std::vector<std::string> missing;
    for (const std::string& v : names)
      if (!ranges_.count(v) && detail::is_f32_activation(g0_, v)) missing.push_back(v);
    if (missing.empty()) return Status::Ok();
    std::map<std::string, std::pair<float, float>> got;
    POCKET_RETURN_IF_ERROR(calibrate_ranges(g0_, samples_, missing, o_.method, o_.percentile, &got, o_.progress));
    for (const auto& [k, v] : got) ranges_[k] = v;
    return Status::Ok();
  }

 private:
  const ir::Graph& g0_;
  const QuantizeOptions& o_;
  const std::vector<Sample>& samples_;
  std::map<std::string, std::pair<float, float>> ranges_;
};

Status check_options(const QuantizeOptions& o) {
  if (o.method == CalibrationMethod::kPercentile && !(o.percentile > 0 && o.percentile <= 100))
    return invalid_argument("--percentile must be in (0, 100], got " + std::to_string(o.percentile));
  if (o.max_samples < 0) return invalid_argument("--calibration-samples must be positive");
  if (o.max_error_db < 0 || !std::isfinite(o.max_error_db))
    return invalid_argument("--max-error must be a positive number of dB");
  if (o.precision == Precision::kInt8 && o.calibration_dir.empty())
    return invalid_argument("--precision int8 needs a calibration set: --calibration DIR");
  if (o.max_error_db > 0) {
    if (o.precision != Precision::kInt8 && o.precision != Precision::kInt8Dynamic)
      return invalid_argument("--max-error applies to --precision int8 and int8-dynamic only");
    if (o.calibration_dir.empty())
      return invalid_argument("--max-error needs a calibration set to measure on: --calibration DIR");
  }
  return Status::Ok();
}

// Reference outputs of the fp32 graph on every sample, kept to score quantized variants.
class OutputScorer {
 public:
  OutputScorer(const ir::Graph& g0, const std::vector<Sample>& samples, bool progress)
      : g0_(g0), samples_(samples), progress_(progress) {}

  Status init() {
    ref_.assign(samples_.size(), {});
    ProgressBar bar("fp32 reference", samples_.size(), progress_);
    return run_on_samples(g0_, samples_, g0_.outputs, [&](size_t i, const std::map<std::string, HostTensor>& v) {
      ref_[i] = v;
      return Status::Ok();
    }, &bar);
  }

  // Output SQNR of gq (all outputs together) against the fp32 reference.
  Status score(const ir::Graph& gq, const std::string& label, double* db) {
    Accum acc;
    ProgressBar bar(label, samples_.size(), progress_);
    POCKET_RETURN_IF_ERROR(run_on_samples(gq, samples_, g0_.outputs, [&](size_t i, const std::map<std::string, HostTensor>& v) {
      for (const std::string& name : g0_.outputs) {
        auto r = ref_[i].find(name);
        auto x = v.find(name);
        if (r == ref_[i].end() || x == v.end()) {
          acc.bad = true;
          continue;
        }
        acc.add(r->second, x->second);
      }
      return Status::Ok();
    }, &bar));
    *db = acc.db();
    return Status::Ok();
  }

 private:
  const ir::Graph& g0_;
  const std::vector<Sample>& samples_;
  bool progress_;
  std::vector<std::map<std::string, HostTensor>> ref_;
};

// Layers with at most this many int8 candidates are ranked by the exact sensitivity (the model's
// output SQNR with that layer alone quantized); bigger models use the per-layer drop proxy.
constexpr size_t kExactSensitivityLimit = 24;

std::vector<std::string> int8_layers(const QuantizeReport& r) {
  std::vector<std::string> v;
  for (const LayerReport& row : r.layers)
    if (detail::is_int8_precision(row.precision)) v.push_back(row.name);
  return v;
}

}  // namespace

Status quantize(ir::Graph& graph, const QuantizeOptions& o, QuantizeReport* report) {
  QuantizeReport local;
  QuantizeReport& rep = report ? *report : local;
  rep = QuantizeReport{};
  rep.precision = o.precision;
  if (o.precision == Precision::kFp32) return Status::Ok();
  POCKET_RETURN_IF_ERROR(check_options(o));

  FloatSet fs;
  fs.keep = detail::split_items(o.keep_float);
  for (const std::string& k : fs.keep) {
    bool hit = false;
    for (const ir::Node& n : graph.nodes) hit = hit || k == n.op || k == n.name || k == detail::layer_name(n);
    if (!hit) rep.notes.push_back("warning: --keep-float " + k + " matches no node name or op type");
  }

  const ir::Graph g0 = graph;  // the fp32 graph (constant data shared, never modified)
  if (o.precision == Precision::kFp16) {
    POCKET_RETURN_IF_ERROR(detail::apply_fp16(graph, fs, &rep));
    totals(g0, graph, &rep);
    return Status::Ok();
  }

  std::vector<Sample> samples;
  if (!o.calibration_dir.empty()) {
    POCKET_RETURN_IF_ERROR(load_calibration_set(o.calibration_dir, graph, o.max_samples, &samples));
    if (samples.empty()) return invalid_argument("--calibration " + o.calibration_dir + ": no samples found");
    rep.samples = static_cast<int>(samples.size());
  }
  if (o.precision == Precision::kInt8) rep.method = calibration_method_name(o.method);

  Builder builder(g0, o, samples);
  ir::Graph gq;
  POCKET_RETURN_IF_ERROR(builder.build(fs, &gq, &rep));
  if (samples.empty()) {
    graph = std::move(gq);
    totals(g0, graph, &rep);
    return Status::Ok();
  }

  OutputScorer scorer(g0, samples, o.progress);
  POCKET_RETURN_IF_ERROR(scorer.init());
  POCKET_RETURN_IF_ERROR(scorer.score(gq, "measuring SQNR", &rep.model_sqnr_db));
  const std::vector<std::string> notes = rep.notes;

  if (o.max_error_db > 0 && rep.model_sqnr_db < o.max_error_db) {
    std::map<std::string, double> layer_db;  // reported SQNR of each layer (last measured as int8)
    const bool exact = int8_layers(rep).size() <= kExactSensitivityLimit;
    const std::string how = exact ? "model output SQNR with this layer alone quantized"
                                  : "the layer's output SQNR in the int8 model (ranked by the noise it adds to its input's)";
    auto keep = [&](const std::string& name, size_t rank, const char* by) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "kept float (rank %zu by %s); model %s < budget %.1f dB", rank, by,
                    fmt_db(rep.model_sqnr_db).c_str(), o.max_error_db);
      fs.kept[name] = buf;
    };
    if (exact) {
      // Each layer alone quantized, measured once; then the most damaging go float one at a time.
      const std::vector<std::string> candidates = int8_layers(rep);
      std::vector<std::string> values;
      for (const ir::Node& n : g0.nodes)
        if (std::find(candidates.begin(), candidates.end(), detail::layer_name(n)) != candidates.end()) {
          values.insert(values.end(), n.inputs.begin(), n.inputs.end());
          values.insert(values.end(), n.outputs.begin(), n.outputs.end());
        }
      POCKET_RETURN_IF_ERROR(builder.prefetch(values));
      std::vector<std::pair<double, std::string>> ranked;  // ascending SQNR = most damaging first
      for (const std::string& c : candidates) {
        FloatSet alone = fs;
        for (const std::string& other : candidates)
          if (other != c) alone.kept[other] = "sensitivity probe";
        ir::Graph gc;
        QuantizeReport rc;
        POCKET_RETURN_IF_ERROR(builder.build(alone, &gc, &rc));
        double db = 0;
        POCKET_RETURN_IF_ERROR(scorer.score(gc, "sensitivity " + c, &db));
        layer_db[c] = db;
        ranked.push_back({capped(db), c});
      }
      std::sort(ranked.begin(), ranked.end());
      for (size_t next = 0; rep.model_sqnr_db < o.max_error_db && next < ranked.size(); ++next) {
        keep(ranked[next].second, next + 1, "alone-quantized model SQNR");
        POCKET_RETURN_IF_ERROR(builder.build(fs, &gq, &rep));
        POCKET_RETURN_IF_ERROR(scorer.score(gq, "measuring SQNR", &rep.model_sqnr_db));
      }
    } else {
      // Each round measures every int8 layer's output and float input in the current model and
      // keeps float the layers adding the most relative noise power (10^(-out/10) - 10^(-in/10));
      // a layer reading a float value through a QuantizeLinear is charged for that quantization.
      std::map<std::string, const ir::Node*> node_of;
      for (const ir::Node& n : g0.nodes) node_of[detail::layer_name(n)] = &n;
      // The int8 layer producing a layer's first input, through data movement ops ("" if none).
      std::set<std::string> movers = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity",
                                      "Slice", "Pad", "MaxPool"};
      auto int8_producer = [&](const std::string& layer) -> std::string {
        std::string v = node_of.at(layer)->inputs[0];
        for (int guard = 0; guard < 64; ++guard) {
          const int p = g0.producer(v);
          if (p < 0) return "";
          const ir::Node& n = g0.nodes[p];
          if (!movers.count(n.op)) {
            const std::string name = detail::layer_name(n);
            for (const LayerReport& row : rep.layers)
              if (row.name == name && detail::is_int8_precision(row.precision)) return name;
            return "";
          }
          v = n.inputs[0];
        }
        return "";
      };
      size_t rank = 0;
      for (;;) {
        const std::vector<std::string> candidates = int8_layers(rep);
        if (candidates.empty()) break;
        std::vector<std::string> picks;
        {
          std::vector<std::string> tensors;
          for (const std::string& c : candidates) {
            const ir::Node* n = node_of.at(c);
            tensors.push_back(n->outputs[0]);
            if (!n->inputs[0].empty() && !g0.is_constant(n->inputs[0])) tensors.push_back(n->inputs[0]);
          }
          double model_db = 0;
          std::map<std::string, double> tdb;
          POCKET_RETURN_IF_ERROR(measure(g0, gq, samples, tensors, o.progress, "layer SQNR", &model_db, &tdb));
          auto noise = [&](const std::string& v) {
            auto it = tdb.find(v);
            return it == tdb.end() ? 0.0 : std::pow(10.0, -capped(it->second) / 10.0);
          };
          std::vector<std::pair<double, std::string>> ranked;  // (-added noise, layer)
          for (const std::string& c : candidates) {
            const ir::Node* n = node_of.at(c);
            if (tdb.count(n->outputs[0])) layer_db[c] = tdb[n->outputs[0]];
            const double in = g0.is_constant(n->inputs[0]) ? 0.0 : noise(n->inputs[0]);
            ranked.push_back({-(noise(n->outputs[0]) - in), c});
          }
          std::sort(ranked.begin(), ranked.end());
          const size_t step = std::max<size_t>(1, candidates.size() / 16);
          for (size_t k = 0; k < step && k < ranked.size(); ++k) picks.push_back(ranked[k].second);
          for (const std::string& p : picks) keep(p, ++rank, "added noise");
          // A layer whose output is 20 dB worse than the int8 tensor it reads: that tensor hides
          // damage its own SQNR does not show (channels that carry little energy there but all of
          // it here), so its int8 producer goes float too.
          for (const std::string& l : std::vector<std::string>(picks)) {
            const std::string p = int8_producer(l);
            if (!p.empty() && !fs.kept.count(p) && layer_db.count(l) && layer_db.count(p) &&
                capped(layer_db[l]) < capped(layer_db[p]) - 20.0)
              keep(p, ++rank, "hidden damage in its int8 output");
          }
        }
        POCKET_RETURN_IF_ERROR(builder.build(fs, &gq, &rep));
        POCKET_RETURN_IF_ERROR(scorer.score(gq, "measuring SQNR", &rep.model_sqnr_db));
        if (rep.model_sqnr_db >= o.max_error_db) break;
      }
    }
    rep.notes = notes;
    rep.notes.push_back("--max-error " + fmt_db(o.max_error_db) + ": layer SQNR = " + how + "; " +
                        std::to_string(fs.kept.size()) + " layer(s) kept float, model " + fmt_db(rep.model_sqnr_db));
    if (rep.model_sqnr_db < o.max_error_db)
      rep.notes.push_back("--max-error " + fmt_db(o.max_error_db) + " not reached: " + fmt_db(rep.model_sqnr_db) +
                          " with every candidate layer float");
    for (LayerReport& row : rep.layers)
      if (layer_db.count(row.name)) row.sqnr_db = layer_db[row.name];
  }
  graph = std::move(gq);
  totals(g0, graph, &rep);
  return Status::Ok();
}

}  // namespace pocket::converter::quantize
