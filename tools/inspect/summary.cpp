#include "tools/inspect/summary.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "tools/common/tool_util.h"

namespace pocket::tools::inspect {

namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

template <class T>
std::vector<T> vec(const flatbuffers::Vector<T>* v) {
  return v ? std::vector<T>(v->begin(), v->end()) : std::vector<T>();
}

std::vector<std::pair<std::string, std::string>> key_values(const flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>* v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v) return out;
  for (const fb::KeyValue* kv : *v)
    if (kv) out.emplace_back(str(kv->key()), str(kv->value()));
  return out;
}

void read_metadata(const fb::Metadata* m, Summary* s) {
  if (!m) return;
  s->has_metadata = true;
  s->producer = str(m->producer());
  s->producer_version = str(m->producer_version());
  s->task = str(m->task());
  s->source = str(m->source());
  if (const fb::Preprocessing* p = m->preprocessing()) {
    s->has_preprocessing = true;
    s->width = p->width();
    s->height = p->height();
    s->layout = str(p->layout());
    s->color_order = str(p->color_order());
    s->resize = str(p->resize());
    s->mean = vec(p->mean());
    s->std = vec(p->std());
    s->scale = p->scale();
  }
  if (m->labels())
    for (const flatbuffers::String* l : *m->labels()) s->labels.push_back(str(l));
  s->properties = key_values(m->properties());
  if (const fb::Tokenizer* t = m->tokenizer()) {
    s->has_tokenizer = true;
    s->tokenizer_kind = str(t->kind());
    s->vocab_size = t->vocab() ? t->vocab()->size() : 0;
    s->merges = t->merges() ? t->merges()->size() : 0;
    s->lowercase = t->lowercase();
    s->strip_accents = t->strip_accents();
    s->max_length = t->max_length();
    s->special_tokens = key_values(t->special_tokens());
    s->suppress_tokens = t->suppress_tokens() ? t->suppress_tokens()->size() : 0;
  }
  if (const fb::AudioFrontEnd* a = m->audio()) {
    s->has_audio = true;
    s->audio_kind = str(a->kind());
    s->sample_rate = a->sample_rate();
    s->n_fft = a->n_fft();
    s->hop_length = a->hop_length();
    s->n_mels = a->n_mels();
    s->chunk_seconds = a->chunk_seconds();
  }
}

// Elements of a constant; its bytes come from the file (I4 packs two per byte).
int64_t elements_of(const Shape& shape) {
  const int64_t n = num_elements(shape);
  return n < 0 ? 0 : n;
}

OpTypeStats& stats_for(std::vector<OpTypeStats>& v, const std::string& op) {
  for (OpTypeStats& o : v)
    if (o.op == op) return o;
  v.push_back({});
  v.back().op = op;
  return v.back();
}

std::string thousands(int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return (v < 0 ? "-" : "") + out;
}

std::string bytes_text(uint64_t b) {
  char buf[64];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / double(1ull << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024.0);
  else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
  return buf;
}

std::string flops_text(int64_t f) {
  char buf[64];
  if (f >= 1000000000) std::snprintf(buf, sizeof buf, "%.3f GFLOP", static_cast<double>(f) / 1e9);
  else if (f >= 1000000) std::snprintf(buf, sizeof buf, "%.3f MFLOP", static_cast<double>(f) / 1e6);
  else if (f >= 1000) std::snprintf(buf, sizeof buf, "%.3f kFLOP", static_cast<double>(f) / 1e3);
  else std::snprintf(buf, sizeof buf, "%" PRId64 " FLOP", f);
  return buf;
}

std::string floats_text(const std::vector<float>& v) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v[i]));
    if (i) out += ',';
    out += buf;
  }
  return out;
}

std::string json_floats(const std::vector<float>& v) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
    // NaN/inf are not JSON numbers.
    const std::string t = buf;
    out += (i ? "," : "") + (t.find_first_of("ni") != std::string::npos ? std::string("null") : t);
  }
  return out + "]";
}

std::string json_shape(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += json_string(v[i]);
  }
  return out + "]";
}

std::string json_pairs(const std::vector<std::pair<std::string, std::string>>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += json_string(v[i].first);
    out += ':';
    out += json_string(v[i].second);
  }
  return out + "}";
}

std::string ratio_text(size_t a, size_t b) {
  if (b == 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(a) / static_cast<double>(b));
  return buf;
}

}  // namespace

std::string printable(const std::string& s, size_t max_chars) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_chars) {
      out += "... (" + std::to_string(s.size()) + " bytes)";
      break;
    }
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

std::string shape_text(const Shape& shape, const std::vector<std::string>& dim_names) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += i ? "," : "";
    if (shape[i] >= 0) out += std::to_string(shape[i]);
    else if (i < dim_names.size() && !dim_names[i].empty()) out += printable(dim_names[i], 32);
    else out += "?";
  }
  return out + "]";
}

Summary summarize_model(const Model& model, const std::string& path) {
  Summary s;
  s.path = path;
  s.file_size = model.file_size();
  s.format_major = model.fb().format_major();
  s.format_minor = model.fb().format_minor();
  read_metadata(model.metadata(), &s);

  const fb::Graph& g = model.graph();
  const auto* tensors = g.tensors();
  const size_t nt = tensors ? tensors->size() : 0;
  s.tensors.resize(nt);
  s.constant.assign(nt, false);
  for (size_t i = 0; i < nt; ++i) {
    const fb::Tensor* t = tensors->Get(static_cast<flatbuffers::uoffset_t>(i));
    TensorSummary& ts = s.tensors[i];
    ts.name = str(t->name());
    ts.dtype = dtype_name(t->dtype());
    ts.shape = vec(t->shape());
    if (t->dim_names())
      for (const flatbuffers::String* d : *t->dim_names()) ts.dim_names.push_back(str(d));
    s.constant[i] = t->has_data();
    const bool i8 = t->dtype() == fb::DType::I8 || t->dtype() == fb::DType::U8;
    if (t->has_data()) {
      ++s.constants;
      const int64_t n = elements_of(ts.shape);
      DTypeStats* d = nullptr;
      for (DTypeStats& x : s.params)
        if (x.dtype == ts.dtype) d = &x;
      if (!d) {
        s.params.push_back({ts.dtype});
        d = &s.params.back();
      }
      ++d->tensors;
      d->elements += n;
      d->bytes += t->data_size();
      s.param_elements += n;
      s.param_bytes += t->data_size();
      if (i8) ++s.quant.int8_constants;
      if (t->dtype() == fb::DType::I4) ++s.quant.int4_constants;
      if (t->dtype() == fb::DType::F16) ++s.quant.fp16_constants;
      if (t->dtype() == fb::DType::BF16) ++s.quant.bf16_constants;
    } else {
      if (i8) ++s.quant.int8_activations;
      if (t->dtype() == fb::DType::F16) ++s.quant.fp16_activations;
    }
    if (const fb::Quantization* q = t->quantization()) {
      if (q->block_size() > 0) ++s.quant.blocked;
      else if (q->axis() >= 0) ++s.quant.per_axis;
      else ++s.quant.per_tensor;
    }
  }
  s.inputs = vec(g.inputs());
  s.outputs = vec(g.outputs());

  std::vector<bool> counted(nt, false);
  if (g.nodes()) {
    for (const fb::Node* n : *g.nodes()) {
      NodeSummary ns;
      ns.op = fb::EnumNameOpType(n->op());
      if (ns.op.empty()) ns.op = "op" + std::to_string(static_cast<int>(n->op()));
      ns.name = str(n->name());
      ns.inputs = vec(n->inputs());
      ns.outputs = vec(n->outputs());
      OpTypeStats& st = stats_for(s.op_types, ns.op);
      ++st.nodes;
      if (n->op() == fb::OpType::QuantizeLinear) ++s.quant.quantize_nodes;
      if (n->op() == fb::OpType::DequantizeLinear) ++s.quant.dequantize_nodes;
      for (int32_t t : ns.inputs) {
        if (t < 0 || static_cast<size_t>(t) >= nt || !s.constant[t] || counted[t]) continue;
        counted[t] = true;
        st.param_elements += elements_of(s.tensors[t].shape);
        st.param_bytes += tensors->Get(static_cast<flatbuffers::uoffset_t>(t))->data_size();
      }
      s.nodes.push_back(std::move(ns));
    }
  }
  std::stable_sort(s.params.begin(), s.params.end(), [](const DTypeStats& a, const DTypeStats& b) { return a.bytes > b.bytes; });
  std::stable_sort(s.op_types.begin(), s.op_types.end(), [](const OpTypeStats& a, const OpTypeStats& b) { return a.nodes > b.nodes; });
  return s;
}

void add_session(const Session& session, Summary* s) {
  s->has_session = true;
  s->threads = session.num_threads();
  s->memory = session.memory();
  s->notices = session.notices();
  const std::vector<OpProfile> profile = session.profile_info();
  // The session runs a subsequence of the nodes, in node order: match it greedily by op and name.
  size_t k = 0;
  for (NodeSummary& n : s->nodes) {
    OpTypeStats& st = stats_for(s->op_types, n.op);
    if (k < profile.size() && profile[k].op == n.op && profile[k].name == n.name) {
      ++st.run;
      st.flops += profile[k].flops;
      s->flops += profile[k].flops;
      n.output0 = profile[k].output_shape;
      n.has_output0 = true;
      ++k;
    } else {
      ++st.at_prepare;
      n.at_prepare = true;
    }
  }
  for (size_t i = 0; i < session.num_inputs() && i < s->inputs.size(); ++i) {
    const int32_t t = s->inputs[i];
    if (t >= 0 && static_cast<size_t>(t) < s->tensors.size())
      s->tensors[t].prepared = const_cast<Session&>(session).input(i).shape;
  }
  for (size_t i = 0; i < session.num_outputs() && i < s->outputs.size(); ++i) {
    const int32_t t = s->outputs[i];
    if (t >= 0 && static_cast<size_t>(t) < s->tensors.size()) s->tensors[t].prepared = session.output(i).shape;
  }
  std::stable_sort(s->op_types.begin(), s->op_types.end(), [](const OpTypeStats& a, const OpTypeStats& b) {
    return a.flops != b.flops ? a.flops > b.flops : a.nodes > b.nodes;
  });
}

std::string text_report(const Summary& s) {
  std::string o;
  char buf[512];
  auto line = [&](const std::string& key, const std::string& value) {
    std::snprintf(buf, sizeof buf, "%-13s %s\n", key.c_str(), value.c_str());
    o += buf;
  };
  line("model", printable(s.path, 400));
  line("file", bytes_text(s.file_size) + " (" + thousands(static_cast<int64_t>(s.file_size)) + " bytes), format " +
                   std::to_string(s.format_major) + "." + std::to_string(s.format_minor));
  if (!s.has_metadata) {
    line("metadata", "none");
  } else {
    const std::string prod = printable(s.producer) + (s.producer_version.empty() ? "" : " " + printable(s.producer_version));
    line("producer", prod.empty() ? "-" : prod);
    line("task", s.task.empty() ? "-" : printable(s.task));
    if (!s.source.empty()) line("source", printable(s.source));
    if (s.has_preprocessing) {
      std::string p = std::to_string(s.width) + "x" + std::to_string(s.height) + " " + printable(s.layout, 16) + " " +
                      printable(s.color_order, 16);
      std::snprintf(buf, sizeof buf, ", scale %.6g", static_cast<double>(s.scale));
      p += buf;
      if (!s.mean.empty()) p += ", mean " + floats_text(s.mean);
      if (!s.std.empty()) p += ", std " + floats_text(s.std);
      if (!s.resize.empty()) p += ", resize " + printable(s.resize, 40);
      line("preprocess", p);
    }
    if (!s.labels.empty()) {
      std::string l = std::to_string(s.labels.size()) + ":";
      for (size_t i = 0; i < s.labels.size() && i < 5; ++i) l += (i ? ", " : " ") + printable(s.labels[i], 40);
      if (s.labels.size() > 5) l += ", ...";
      line("labels", l);
    }
    if (s.has_tokenizer) {
      std::string t = printable(s.tokenizer_kind, 40) + ": " + thousands(static_cast<int64_t>(s.vocab_size)) + " tokens";
      if (s.merges) t += ", " + thousands(static_cast<int64_t>(s.merges)) + " merges";
      if (s.tokenizer_kind == "wordpiece")
        t += std::string(s.lowercase ? ", lower-cased" : ", cased") + (s.strip_accents ? ", accents stripped" : "");
      t += ", max_length " + std::to_string(s.max_length);
      if (!s.special_tokens.empty()) {
        t += ", special";
        for (size_t i = 0; i < s.special_tokens.size() && i < 8; ++i)
          t += " " + printable(s.special_tokens[i].first, 24) + "=" + printable(s.special_tokens[i].second, 24);
        if (s.special_tokens.size() > 8) t += " (+" + std::to_string(s.special_tokens.size() - 8) + " more)";
      }
      if (s.suppress_tokens) t += ", " + std::to_string(s.suppress_tokens) + " suppressed";
      line("tokenizer", t);
    }
    if (s.has_audio)
      line("audio", printable(s.audio_kind, 40) + ": " + std::to_string(s.sample_rate) + " Hz, n_fft " + std::to_string(s.n_fft) +
                        ", hop " + std::to_string(s.hop_length) + ", " + std::to_string(s.n_mels) + " mel bins, " +
                        std::to_string(s.chunk_seconds) + " s window");
    for (size_t i = 0; i < s.properties.size() && i < 32; ++i)
      line("property", printable(s.properties[i].first, 60) + " = " + printable(s.properties[i].second));
    if (s.properties.size() > 32) line("property", "(+" + std::to_string(s.properties.size() - 32) + " more)");
  }

  auto io = [&](const char* title, const std::vector<int32_t>& ids) {
    o += std::string("\n") + title + "\n";
    for (int32_t t : ids) {
      if (t < 0 || static_cast<size_t>(t) >= s.tensors.size()) continue;
      const TensorSummary& ts = s.tensors[t];
      std::string shape = shape_text(ts.shape, ts.dim_names);
      if (!ts.prepared.empty() || (s.has_session && ts.shape.empty())) {
        const std::string p = shape_text(ts.prepared, {});
        if (p != shape) shape += "  (prepared as " + p + ")";
      }
      std::snprintf(buf, sizeof buf, "  %-28s %-8s %s\n", printable(ts.name, 60).c_str(), ts.dtype.c_str(), shape.c_str());
      o += buf;
    }
  };
  io("inputs", s.inputs);
  io("outputs", s.outputs);

  int run = 0, prepared = 0;
  for (const OpTypeStats& t : s.op_types) {
    run += t.run;
    prepared += t.at_prepare;
  }
  o += "\nops: " + std::to_string(s.nodes.size()) + " nodes, " + std::to_string(s.op_types.size()) + " op types";
  if (s.has_session)
    o += "; " + std::to_string(run) + " run, " + std::to_string(prepared) + " evaluated at prepare; " + flops_text(s.flops) +
         " per run (" + std::to_string(s.threads) + " thread" + (s.threads == 1 ? "" : "s") + ")";
  o += "\n";
  std::snprintf(buf, sizeof buf, "  %-24s %6s %6s %8s %14s %11s %14s %7s\n", "op type", "nodes", "run", "prepare", "parameters",
                "bytes", "MFLOP/run", "share");
  o += buf;
  for (const OpTypeStats& t : s.op_types) {
    if (s.has_session) {
      std::snprintf(buf, sizeof buf, "  %-24s %6d %6d %8d %14s %11s %14.3f %6.1f%%\n", t.op.c_str(), t.nodes, t.run, t.at_prepare,
                    thousands(t.param_elements).c_str(), bytes_text(t.param_bytes).c_str(), static_cast<double>(t.flops) / 1e6,
                    s.flops > 0 ? 100.0 * static_cast<double>(t.flops) / static_cast<double>(s.flops) : 0.0);
    } else {
      std::snprintf(buf, sizeof buf, "  %-24s %6d %6s %8s %14s %11s %14s %7s\n", t.op.c_str(), t.nodes, "-", "-",
                    thousands(t.param_elements).c_str(), bytes_text(t.param_bytes).c_str(), "-", "-");
    }
    o += buf;
  }
  if (s.has_session && prepared > 0) {
    std::string list;
    size_t shown = 0;
    for (const NodeSummary& n : s.nodes) {
      if (!n.at_prepare) continue;
      if (shown++ < 12) list += (list.empty() ? "" : ", ") + n.op + " '" + printable(n.name, 48) + "'";
    }
    if (shown > 12) list += ", ... (" + std::to_string(shown) + " in all)";
    o += "  evaluated once at prepare (not run, no FLOPs per run): " + list + "\n";
  }

  o += "\nparameters: " + thousands(s.param_elements) + " elements in " + std::to_string(s.constants) + " constants, " +
       bytes_text(s.param_bytes) + "\n";
  for (const DTypeStats& d : s.params) {
    std::snprintf(buf, sizeof buf, "  %-10s %16s elements %11s %6d tensors\n", d.dtype.c_str(), thousands(d.elements).c_str(),
                  bytes_text(d.bytes).c_str(), d.tensors);
    o += buf;
  }

  const QuantSummary& q = s.quant;
  o += "\nquantization: ";
  if (!q.any()) {
    o += "none (float weights and activations)\n";
  } else {
    std::string parts;
    auto add = [&](int n, const std::string& what) {
      if (n) parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    };
    add(q.int8_constants, "int8 constants");
    add(q.int8_activations, "int8 activations");
    add(q.int4_constants, "int4 constants");
    add(q.fp16_constants, "fp16 constants");
    add(q.bf16_constants, "bf16 constants");
    add(q.fp16_activations, "fp16 activations");
    add(q.per_axis, "per-axis");
    add(q.per_tensor, "per-tensor");
    add(q.blocked, "block");
    if (q.per_axis || q.per_tensor || q.blocked) parts += " quantization parameters";
    add(q.quantize_nodes, "QuantizeLinear");
    add(q.dequantize_nodes, "DequantizeLinear");
    o += parts + "\n";
  }

  o += "\nmemory plan";
  if (!s.has_session) {
    o += ": no session (" + printable(s.session_error, 300) + ")\n";
    return o;
  }
  o += " (" + std::to_string(s.threads) + " thread" + (s.threads == 1 ? "" : "s") + ")\n";
  const MemoryReport& m = s.memory;
  auto mem = [&](const char* key, size_t bytes, const std::string& note) {
    std::snprintf(buf, sizeof buf, "  %-22s %11s %16s B%s\n", key, bytes_text(bytes).c_str(),
                  thousands(static_cast<int64_t>(bytes)).c_str(), note.c_str());
    o += buf;
  };
  mem("arena", m.arena, "  (activations and scratch)");
  mem("liveness lower bound", m.arena_lower_bound, "  (arena / lower bound = " + ratio_text(m.arena, m.arena_lower_bound) + ")");
  mem("packed weights", m.packed_weights, "");
  mem("converted constants", m.converted_constants, "");
  mem("known values", m.known_values, "");
  mem("xnnpack", m.xnnpack, "");
  mem("op private", m.op_private, "");
  mem("session overhead", m.session_overhead, "");
  mem("total", m.total(), "  (this session)");
  mem("model file", m.model_file, "  (shared by every session)");
  for (const std::string& n : s.notices) o += "note: " + printable(n, 300) + "\n";
  return o;
}

std::string json_report(const Summary& s) {
  std::string o = "{";
  auto num = [](auto v) { return std::to_string(v); };
  o += "\"model\":" + json_string(s.path) + ",\"file_bytes\":" + num(s.file_size) + ",\"format\":\"" + num(s.format_major) +
       "." + num(s.format_minor) + "\"";
  o += ",\"metadata\":";
  if (!s.has_metadata) {
    o += "null";
  } else {
    o += "{\"producer\":" + json_string(s.producer) + ",\"producer_version\":" + json_string(s.producer_version) +
         ",\"task\":" + json_string(s.task) + ",\"source\":" + json_string(s.source);
    if (s.has_preprocessing) {
      const std::string scale = json_floats({s.scale});  // "[x]"
      o += ",\"preprocessing\":{\"width\":" + num(s.width) + ",\"height\":" + num(s.height) + ",\"layout\":" +
           json_string(s.layout) + ",\"color_order\":" + json_string(s.color_order) +
           ",\"scale\":" + scale.substr(1, scale.size() - 2);
      o += ",\"mean\":" + json_floats(s.mean) + ",\"std\":" + json_floats(s.std) + ",\"resize\":" + json_string(s.resize) + "}";
    }
    std::vector<std::string> first(s.labels.begin(), s.labels.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(s.labels.size(), 5)));
    o += ",\"label_count\":" + num(s.labels.size()) + ",\"labels_first\":" + json_strings(first);
    o += ",\"properties\":" + json_pairs(s.properties);
    if (s.has_tokenizer)
      o += ",\"tokenizer\":{\"kind\":" + json_string(s.tokenizer_kind) + ",\"vocab_size\":" + num(s.vocab_size) +
           ",\"merges\":" + num(s.merges) + ",\"lowercase\":" + (s.lowercase ? "true" : "false") +
           ",\"strip_accents\":" + (s.strip_accents ? "true" : "false") + ",\"max_length\":" + num(s.max_length) +
           ",\"special_tokens\":" + json_pairs(s.special_tokens) + ",\"suppress_tokens\":" + num(s.suppress_tokens) + "}";
    if (s.has_audio)
      o += ",\"audio\":{\"kind\":" + json_string(s.audio_kind) + ",\"sample_rate\":" + num(s.sample_rate) + ",\"n_fft\":" +
           num(s.n_fft) + ",\"hop_length\":" + num(s.hop_length) + ",\"n_mels\":" + num(s.n_mels) +
           ",\"chunk_seconds\":" + num(s.chunk_seconds) + "}";
    o += "}";
  }
  auto io = [&](const std::vector<int32_t>& ids) {
    std::string a = "[";
    bool first = true;
    for (int32_t t : ids) {
      if (t < 0 || static_cast<size_t>(t) >= s.tensors.size()) continue;
      const TensorSummary& ts = s.tensors[t];
      std::vector<std::string> dims;
      for (size_t i = 0; i < ts.shape.size(); ++i)
        dims.push_back(ts.shape[i] >= 0 ? std::to_string(ts.shape[i]) : (i < ts.dim_names.size() ? ts.dim_names[i] : ""));
      a += (first ? "" : ",") + std::string("{\"name\":") + json_string(ts.name) + ",\"dtype\":" + json_string(ts.dtype) +
           ",\"shape\":" + json_shape(ts.shape) + ",\"dims\":" + json_strings(dims);
      if (s.has_session) a += ",\"prepared_shape\":" + json_shape(ts.prepared);
      a += "}";
      first = false;
    }
    return a + "]";
  };
  o += ",\"inputs\":" + io(s.inputs) + ",\"outputs\":" + io(s.outputs);
  o += ",\"nodes\":" + num(s.nodes.size()) + ",\"op_types\":[";
  for (size_t i = 0; i < s.op_types.size(); ++i) {
    const OpTypeStats& t = s.op_types[i];
    o += (i ? "," : "") + std::string("{\"op\":") + json_string(t.op) + ",\"nodes\":" + num(t.nodes) +
         ",\"param_elements\":" + num(t.param_elements) + ",\"param_bytes\":" + num(t.param_bytes);
    if (s.has_session) o += ",\"run\":" + num(t.run) + ",\"at_prepare\":" + num(t.at_prepare) + ",\"flops\":" + num(t.flops);
    o += "}";
  }
  o += "]";
  std::vector<std::string> at_prepare;
  for (const NodeSummary& n : s.nodes)
    if (n.at_prepare) at_prepare.push_back(n.op + " " + n.name);
  if (s.has_session) o += ",\"evaluated_at_prepare\":" + json_strings(at_prepare) + ",\"flops\":" + num(s.flops);
  o += ",\"parameters\":{\"elements\":" + num(s.param_elements) + ",\"bytes\":" + num(s.param_bytes) +
       ",\"constants\":" + num(s.constants) + ",\"by_dtype\":[";
  for (size_t i = 0; i < s.params.size(); ++i)
    o += (i ? "," : "") + std::string("{\"dtype\":") + json_string(s.params[i].dtype) + ",\"tensors\":" + num(s.params[i].tensors) +
         ",\"elements\":" + num(s.params[i].elements) + ",\"bytes\":" + num(s.params[i].bytes) + "}";
  o += "]}";
  const QuantSummary& q = s.quant;
  o += ",\"quantization\":{\"int8_constants\":" + num(q.int8_constants) + ",\"int8_activations\":" + num(q.int8_activations) +
       ",\"int4_constants\":" + num(q.int4_constants) + ",\"fp16_constants\":" + num(q.fp16_constants) +
       ",\"bf16_constants\":" + num(q.bf16_constants) + ",\"fp16_activations\":" + num(q.fp16_activations) +
       ",\"per_tensor\":" + num(q.per_tensor) + ",\"per_axis\":" + num(q.per_axis) + ",\"blocked\":" + num(q.blocked) +
       ",\"quantize_nodes\":" + num(q.quantize_nodes) + ",\"dequantize_nodes\":" + num(q.dequantize_nodes) + "}";
  if (s.has_session) {
    const MemoryReport& m = s.memory;
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.6g",
                  m.arena_lower_bound ? static_cast<double>(m.arena) / static_cast<double>(m.arena_lower_bound) : 0.0);
    o += ",\"threads\":" + num(s.threads) + ",\"memory\":{\"arena\":" + num(m.arena) + ",\"arena_lower_bound\":" +
         num(m.arena_lower_bound) + ",\"arena_over_lower_bound\":" + ratio + ",\"packed_weights\":" + num(m.packed_weights) +
         ",\"converted_constants\":" + num(m.converted_constants) + ",\"known_values\":" + num(m.known_values) +
         ",\"xnnpack\":" + num(m.xnnpack) + ",\"op_private\":" + num(m.op_private) + ",\"session_overhead\":" +
         num(m.session_overhead) + ",\"total\":" + num(m.total()) + ",\"model_file\":" + num(m.model_file) + "}";
    o += ",\"notices\":" + json_strings(s.notices);
  } else {
    o += ",\"session_error\":" + json_string(s.session_error);
  }
  return o + "}";
}

}  // namespace pocket::tools::inspect
