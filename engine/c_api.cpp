// The core C API (include/pocket/pocket.h) over Model and Session. Every entry point that returns
// a pocket_status runs inside capi::call_guarded (engine/c_api_internal.h); the others only read
// fields and cannot throw.
#include <new>
#include <string>

#include "engine/c_api_internal.h"
#include "engine/model.h"
#include "engine/session.h"
#include "pocket/pocket.h"

void pocket_session::refresh_notices() {
  notices.clear();
  for (const std::string& n : session->notices()) {
    if (!notices.empty()) notices += '\n';
    notices += n;
  }
}

namespace pocket::capi {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

pocket_status fail(pocket_status code, const char* function, const char* message) noexcept {
  std::string& e = last_error();
  e.clear();
  try {
    if (function) {
      e += function;
      e += ": ";
    }
    e += message ? message : "";
  } catch (...) {
    // Out of memory while composing the message: keep what fit.
  }
  return code;
}

pocket_status to_c(const pocket::Status& s) noexcept {
  if (s.ok()) return POCKET_OK;
  return fail(static_cast<pocket_status>(static_cast<int>(s.code())), nullptr, s.message().c_str());
}

pocket_status require(const char* function, std::initializer_list<Arg> args) noexcept {
  for (const Arg& a : args) {
    if (a.pointer) continue;
    std::string& e = last_error();
    e.clear();
    try {
      e = std::string(function) + ": " + a.name + " must not be NULL";
    } catch (...) {
    }
    return POCKET_INVALID_ARGUMENT;
  }
  return POCKET_OK;
}

}  // namespace pocket::capi

namespace {

using pocket::capi::call_guarded;
using pocket::capi::fail;
using pocket::capi::require;
using pocket::capi::to_c;

pocket_status finish_model(pocket::Result<std::shared_ptr<const pocket::Model>> r, pocket_model** out) {
  if (!r.ok()) return to_c(r.status());
  auto m = std::make_unique<pocket_model>();
  m->model = std::move(r.value());
  m->labels = m->model->labels();
  *out = m.release();
  return POCKET_OK;
}

// The (names, shapes, ranks) triple of the C API as pairs; an error naming the bad entry.
pocket_status to_shapes(const char* function, size_t count, const char* const* names, const int64_t* const* shapes,
                        const int32_t* ranks, std::vector<std::pair<std::string, pocket::Shape>>* out) {
  if (count == 0) return POCKET_OK;
  if (pocket_status st = require(function, {{names, "names"}, {shapes, "shapes"}, {ranks, "ranks"}}); st != POCKET_OK)
    return st;
  for (size_t i = 0; i < count; ++i) {
    const std::string entry = "entry " + std::to_string(i);
    if (!names[i]) return fail(POCKET_INVALID_ARGUMENT, function, entry + ": the name is NULL");
    if (ranks[i] < 0) return fail(POCKET_INVALID_ARGUMENT, function, entry + " ('" + names[i] + "'): rank " +
                                                                         std::to_string(ranks[i]) + " is negative");
    if (ranks[i] > 0 && !shapes[i])
      return fail(POCKET_INVALID_ARGUMENT, function, entry + " ('" + names[i] + "'): the shape is NULL");
    out->emplace_back(names[i], pocket::Shape(shapes[i], shapes[i] + ranks[i]));
  }
  return POCKET_OK;
}

pocket_status check_rank(const char* function, const int64_t* shape, int32_t rank) {
  if (rank < 0) return fail(POCKET_INVALID_ARGUMENT, function, "rank must be >= 0, got " + std::to_string(rank));
  if (rank > 0 && !shape) return fail(POCKET_INVALID_ARGUMENT, function, "shape must not be NULL when rank > 0");
  return POCKET_OK;
}

pocket_status check_index(const char* function, const char* what, size_t index, size_t count) {
  if (index < count) return POCKET_OK;
  return fail(POCKET_INVALID_ARGUMENT, function, std::string(what) + " index " + std::to_string(index) +
                                                     " out of range (" + std::to_string(count) + " " + what + "s)");
}

void fill_info(const pocket::Value& v, pocket_tensor_info* info) {
  info->name = v.name.data();  // names come from the FlatBuffer, NUL-terminated
  info->dtype = static_cast<pocket_dtype>(static_cast<int>(v.dtype));
  info->rank = static_cast<int32_t>(v.shape.size());
  info->shape = v.shape.data();
  info->bytes = v.bytes();
}

}  // namespace

extern "C" {

const char* pocket_last_error(void) { return pocket::capi::last_error().c_str(); }
const char* pocket_version(void) { return "1.0.0"; }

pocket_status pocket_model_load(const char* path, pocket_model** out_model) {
  static constexpr const char* fn = "pocket_model_load";
  return call_guarded(fn, [&] {
    if (out_model) *out_model = nullptr;
    if (pocket_status st = require(fn, {{path, "path"}, {out_model, "out_model"}}); st != POCKET_OK) return st;
    return finish_model(pocket::Model::load_file(path), out_model);
  });
}

pocket_status pocket_model_load_buffer(const void* data, size_t size, pocket_model** out_model) {
  static constexpr const char* fn = "pocket_model_load_buffer";
  return call_guarded(fn, [&] {
    if (out_model) *out_model = nullptr;
    if (pocket_status st = require(fn, {{data, "data"}, {out_model, "out_model"}}); st != POCKET_OK) return st;
    return finish_model(pocket::Model::load_buffer(data, size), out_model);
  });
}

void pocket_model_free(pocket_model* model) { delete model; }

size_t pocket_model_num_labels(const pocket_model* model) { return model ? model->labels.size() : 0; }

const char* pocket_model_label(const pocket_model* model, size_t index) {
  if (!model || index >= model->labels.size()) return nullptr;
  return model->labels[index].c_str();
}

int pocket_model_preprocessing(const pocket_model* model, pocket_preprocessing* out) {
  if (!model || !out) return 0;
  const pocket::fb::Metadata* meta = model->model->metadata();
  const pocket::fb::Preprocessing* p = meta ? meta->preprocessing() : nullptr;
  if (!p) return 0;
  auto str = [](const flatbuffers::String* s, const char* fallback) {
    return s && s->size() ? s->c_str() : fallback;
  };
  out->width = p->width();
  out->height = p->height();
  out->layout = str(p->layout(), "NCHW");
  out->color_order = str(p->color_order(), "RGB");
  out->resize = str(p->resize(), "shorter_side_center_crop");
  out->mean = p->mean() ? p->mean()->data() : nullptr;
  out->mean_count = p->mean() ? p->mean()->size() : 0;
  out->std = p->std() ? p->std()->data() : nullptr;
  out->std_count = p->std() ? p->std()->size() : 0;
  out->scale = p->scale();
  return 1;
}

void pocket_session_options_init(pocket_session_options* options) {
  if (!options) return;
  options->num_threads = 1;
  options->tune = 0;
  options->tuning_file = nullptr;
  options->adaptive_threads = 1;
  options->num_input_shapes = 0;
  options->input_shape_names = nullptr;
  options->input_shapes = nullptr;
  options->input_shape_ranks = nullptr;
  options->memory_budget = 0;
  options->sustained = 0;
  options->sustained_max_threads = 0;
  options->backend = nullptr;
  options->backend_fp16 = 0;
  options->backend_required = 0;
  options->pipeline_cache_file = nullptr;
  options->device_memory_budget = 0;
}

pocket_status pocket_session_create(const pocket_model* model, const pocket_session_options* options,
                                    pocket_session** out_session) {
  static constexpr const char* fn = "pocket_session_create";
  return call_guarded(fn, [&] {
    if (out_session) *out_session = nullptr;
    if (pocket_status st = require(fn, {{model, "model"}, {out_session, "out_session"}}); st != POCKET_OK) return st;
    pocket::SessionOptions o;
    if (options) {
      if (options->sustained_max_threads < 0)
        return fail(POCKET_INVALID_ARGUMENT, fn, "sustained_max_threads must be >= 0, got " +
                                                     std::to_string(options->sustained_max_threads));
      o.num_threads = options->num_threads;
      o.tune = options->tune != 0;
      o.memory_budget = options->memory_budget;
      o.device_memory_budget = options->device_memory_budget;
      if (options->tuning_file) o.tuning_file = options->tuning_file;
      o.adaptive_threads = options->adaptive_threads != 0;
      o.sustained = options->sustained != 0;
      o.sustained_max_threads = options->sustained_max_threads;
      if (options->backend) o.backend = options->backend;
      if (options->backend_fp16 < 0 || options->backend_fp16 > 2)
        return fail(POCKET_INVALID_ARGUMENT, fn, "backend_fp16 must be 0 (fp32), 1 (fp16 storage) or 2 (fp16 storage and arithmetic), got " +
                                                     std::to_string(options->backend_fp16));
      o.backend_fp16 = options->backend_fp16 != 0;
      o.backend_fp16_arithmetic = options->backend_fp16 == 2;
      o.backend_required = options->backend_required != 0;
      if (options->pipeline_cache_file) o.pipeline_cache_file = options->pipeline_cache_file;
      if (pocket_status st = to_shapes(fn, options->num_input_shapes, options->input_shape_names,
                                       options->input_shapes, options->input_shape_ranks, &o.input_shapes);
          st != POCKET_OK)
        return st;
    }
    auto r = pocket::Session::create(model->model, o);
    if (!r.ok()) return to_c(r.status());
    auto s = std::make_unique<pocket_session>();
    s->session = std::move(r.value());
    s->refresh_notices();
    *out_session = s.release();
    return POCKET_OK;
  });
}

void pocket_session_free(pocket_session* session) { delete session; }

size_t pocket_session_num_inputs(const pocket_session* s) { return s ? s->session->num_inputs() : 0; }
size_t pocket_session_num_outputs(const pocket_session* s) { return s ? s->session->num_outputs() : 0; }

int32_t pocket_session_num_threads(const pocket_session* s) { return s ? s->session->num_threads() : 0; }

pocket_status pocket_session_input_info(const pocket_session* s, size_t index, pocket_tensor_info* info) {
  static constexpr const char* fn = "pocket_session_input_info";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {info, "info"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_index(fn, "input", index, s->session->num_inputs()); st != POCKET_OK) return st;
    fill_info(const_cast<pocket::Session&>(*s->session).input(index), info);
    return POCKET_OK;
  });
}

pocket_status pocket_session_output_info(const pocket_session* s, size_t index, pocket_tensor_info* info) {
  static constexpr const char* fn = "pocket_session_output_info";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {info, "info"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_index(fn, "output", index, s->session->num_outputs()); st != POCKET_OK) return st;
    fill_info(s->session->output(index), info);
    return POCKET_OK;
  });
}

pocket_status pocket_session_set_input(pocket_session* s, const char* name, pocket_dtype dtype,
                                       const int64_t* shape, int32_t rank, const void* data) {
  static constexpr const char* fn = "pocket_session_set_input";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {name, "name"}, {data, "data"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_rank(fn, shape, rank); st != POCKET_OK) return st;
    const pocket::Shape sh(shape, shape + rank);
    return to_c(s->session->set_input(name, static_cast<pocket::DType>(dtype), sh, data));
  });
}

pocket_status pocket_session_input_data(pocket_session* s, size_t index, void** data) {
  static constexpr const char* fn = "pocket_session_input_data";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {data, "data"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_index(fn, "input", index, s->session->num_inputs()); st != POCKET_OK) return st;
    *data = s->session->input(index).data;
    return POCKET_OK;
  });
}

pocket_status pocket_session_resize_input(pocket_session* s, const char* name, const int64_t* shape, int32_t rank) {
  static constexpr const char* fn = "pocket_session_resize_input";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {name, "name"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_rank(fn, shape, rank); st != POCKET_OK) return st;
    const pocket_status st = to_c(s->session->resize_input(name, pocket::Shape(shape, shape + rank)));
    if (st == POCKET_OK) ++s->generation;
    s->refresh_notices();
    return st;
  });
}

pocket_status pocket_session_resize_inputs(pocket_session* s, size_t count, const char* const* names,
                                           const int64_t* const* shapes, const int32_t* ranks) {
  static constexpr const char* fn = "pocket_session_resize_inputs";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}}); st != POCKET_OK) return st;
    std::vector<std::pair<std::string, pocket::Shape>> v;
    if (pocket_status st = to_shapes(fn, count, names, shapes, ranks, &v); st != POCKET_OK) return st;
    const pocket_status st = to_c(s->session->resize_inputs(v));
    if (st == POCKET_OK) ++s->generation;
    s->refresh_notices();
    return st;
  });
}

pocket_status pocket_session_run(pocket_session* s) {
  static constexpr const char* fn = "pocket_session_run";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}}); st != POCKET_OK) return st;
    s->session->run();
    if (!s->session->run_status().ok()) return to_c(s->session->run_status());
    return POCKET_OK;
  });
}

pocket_status pocket_session_output_data(const pocket_session* s, size_t index, const void** data) {
  static constexpr const char* fn = "pocket_session_output_data";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{s, "session"}, {data, "data"}}); st != POCKET_OK) return st;
    if (pocket_status st = check_index(fn, "output", index, s->session->num_outputs()); st != POCKET_OK) return st;
    *data = s->session->output(index).data;
    return POCKET_OK;
  });
}

const char* pocket_session_notices(const pocket_session* s) { return s ? s->notices.c_str() : ""; }

const char* pocket_session_partition_summary(const pocket_session* s) {
  return s ? s->session->partition_summary().c_str() : "";
}

size_t pocket_session_arena_bytes(const pocket_session* s) { return s ? s->session->arena_bytes() : 0; }
size_t pocket_session_arena_lower_bound(const pocket_session* s) { return s ? s->session->arena_lower_bound() : 0; }

pocket_status pocket_session_memory(const pocket_session* session, pocket_memory_report* out) {
  static constexpr const char* fn = "pocket_session_memory";
  return call_guarded(fn, [&] {
    if (pocket_status st = require(fn, {{session, "session"}, {out, "out"}}); st != POCKET_OK) return st;
    const pocket::MemoryReport m = session->session->memory();
    *out = pocket_memory_report{m.arena,   m.arena_lower_bound, m.packed_weights,   m.converted_constants,
                                m.known_values, m.xnnpack,    m.op_private, m.session_overhead,
                                m.model_file, m.total(), m.device};
    return POCKET_OK;
  });
}

}  // extern "C"
