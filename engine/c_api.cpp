#include "pocket/pocket.h"

#include <new>
#include <string>

#include "engine/model.h"
#include "engine/session.h"

struct pocket_model {
  std::shared_ptr<const pocket::Model> model;
  std::vector<std::string> labels;
};

struct pocket_session {
  std::unique_ptr<pocket::Session> session;
  std::string notices;  // session->notices() joined with '\n'

  void refresh_notices() {
    notices.clear();
    for (const std::string& n : session->notices()) {
      if (!notices.empty()) notices += '\n';
      notices += n;
    }
  }
};

namespace {

thread_local std::string g_last_error;

pocket_status to_c(const pocket::Status& s) {
  if (s.ok()) return POCKET_OK;
  g_last_error = s.message();
  return static_cast<pocket_status>(static_cast<int>(s.code()));
}

pocket_status fail(pocket_status code, std::string msg) {
  g_last_error = std::move(msg);
  return code;
}

pocket_status finish_model(pocket::Result<std::shared_ptr<const pocket::Model>> r, pocket_model** out) {
  if (!r.ok()) return to_c(r.status());
  auto* m = new (std::nothrow) pocket_model();
  if (!m) return fail(POCKET_OUT_OF_MEMORY, "out of memory");
  m->model = std::move(r.value());
  m->labels = m->model->labels();
  *out = m;
  return POCKET_OK;
}

// The (names, shapes, ranks) triple of the C API as pairs; false when an entry is NULL or bad.
bool to_shapes(size_t count, const char* const* names, const int64_t* const* shapes, const int32_t* ranks,
               std::vector<std::pair<std::string, pocket::Shape>>* out) {
  if (count == 0) return true;
  if (!names || !shapes || !ranks) return false;
  for (size_t i = 0; i < count; ++i) {
    if (!names[i] || ranks[i] < 0 || (ranks[i] > 0 && !shapes[i])) return false;
    out->emplace_back(names[i], pocket::Shape(shapes[i], shapes[i] + ranks[i]));
  }
  return true;
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

const char* pocket_last_error(void) { return g_last_error.c_str(); }
const char* pocket_version(void) { return "1.0.0"; }

pocket_status pocket_model_load(const char* path, pocket_model** out_model) {
  if (!path || !out_model) return fail(POCKET_INVALID_ARGUMENT, "pocket_model_load: path and out_model must not be NULL");
  *out_model = nullptr;
  return finish_model(pocket::Model::load_file(path), out_model);
}

pocket_status pocket_model_load_buffer(const void* data, size_t size, pocket_model** out_model) {
  if (!data || !out_model) return fail(POCKET_INVALID_ARGUMENT, "pocket_model_load_buffer: data and out_model must not be NULL");
  *out_model = nullptr;
  return finish_model(pocket::Model::load_buffer(data, size), out_model);
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
}

pocket_status pocket_session_create(const pocket_model* model, const pocket_session_options* options,
                                    pocket_session** out_session) {
  if (!model || !out_session) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_create: model and out_session must not be NULL");
  *out_session = nullptr;
  pocket::SessionOptions o;
  if (options) {
    o.num_threads = options->num_threads;
    o.tune = options->tune != 0;
    o.memory_budget = options->memory_budget;
    if (options->tuning_file) o.tuning_file = options->tuning_file;
    o.adaptive_threads = options->adaptive_threads != 0;
    if (!to_shapes(options->num_input_shapes, options->input_shape_names, options->input_shapes,
                   options->input_shape_ranks, &o.input_shapes))
      return fail(POCKET_INVALID_ARGUMENT, "pocket_session_create: input_shape_names, input_shapes or "
                                           "input_shape_ranks is NULL or invalid");
  }
  auto r = pocket::Session::create(model->model, o);
  if (!r.ok()) return to_c(r.status());
  auto* s = new (std::nothrow) pocket_session();
  if (!s) return fail(POCKET_OUT_OF_MEMORY, "out of memory");
  s->session = std::move(r.value());
  s->refresh_notices();
  *out_session = s;
  return POCKET_OK;
}

void pocket_session_free(pocket_session* session) { delete session; }

size_t pocket_session_num_inputs(const pocket_session* s) { return s ? s->session->num_inputs() : 0; }
size_t pocket_session_num_outputs(const pocket_session* s) { return s ? s->session->num_outputs() : 0; }

pocket_status pocket_session_input_info(const pocket_session* s, size_t index, pocket_tensor_info* info) {
  if (!s || !info) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_input_info: NULL argument");
  if (index >= s->session->num_inputs())
    return fail(POCKET_INVALID_ARGUMENT, "input index " + std::to_string(index) + " out of range (" + std::to_string(s->session->num_inputs()) + " inputs)");
  fill_info(const_cast<pocket::Session&>(*s->session).input(index), info);
  return POCKET_OK;
}

pocket_status pocket_session_output_info(const pocket_session* s, size_t index, pocket_tensor_info* info) {
  if (!s || !info) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_output_info: NULL argument");
  if (index >= s->session->num_outputs())
    return fail(POCKET_INVALID_ARGUMENT, "output index " + std::to_string(index) + " out of range (" + std::to_string(s->session->num_outputs()) + " outputs)");
  fill_info(s->session->output(index), info);
  return POCKET_OK;
}

pocket_status pocket_session_set_input(pocket_session* s, const char* name, pocket_dtype dtype,
                                       const int64_t* shape, int32_t rank, const void* data) {
  if (!s || !name || !data || (rank > 0 && !shape) || rank < 0)
    return fail(POCKET_INVALID_ARGUMENT, "pocket_session_set_input: NULL or invalid argument");
  pocket::Shape sh(shape, shape + rank);
  return to_c(s->session->set_input(name, static_cast<pocket::DType>(dtype), sh, data));
}

pocket_status pocket_session_input_data(pocket_session* s, size_t index, void** data) {
  if (!s || !data) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_input_data: NULL argument");
  if (index >= s->session->num_inputs()) return fail(POCKET_INVALID_ARGUMENT, "input index out of range");
  *data = s->session->input(index).data;
  return POCKET_OK;
}

pocket_status pocket_session_resize_input(pocket_session* s, const char* name, const int64_t* shape, int32_t rank) {
  if (!s || !name || (rank > 0 && !shape) || rank < 0)
    return fail(POCKET_INVALID_ARGUMENT, "pocket_session_resize_input: NULL or invalid argument");
  pocket_status st = to_c(s->session->resize_input(name, pocket::Shape(shape, shape + rank)));
  s->refresh_notices();
  return st;
}

pocket_status pocket_session_resize_inputs(pocket_session* s, size_t count, const char* const* names,
                                           const int64_t* const* shapes, const int32_t* ranks) {
  std::vector<std::pair<std::string, pocket::Shape>> v;
  if (!s || !to_shapes(count, names, shapes, ranks, &v))
    return fail(POCKET_INVALID_ARGUMENT, "pocket_session_resize_inputs: NULL or invalid argument");
  pocket_status st = to_c(s->session->resize_inputs(v));
  s->refresh_notices();
  return st;
}

pocket_status pocket_session_run(pocket_session* s) {
  if (!s) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_run: NULL session");
  s->session->run();
  return POCKET_OK;
}

pocket_status pocket_session_output_data(const pocket_session* s, size_t index, const void** data) {
  if (!s || !data) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_output_data: NULL argument");
  if (index >= s->session->num_outputs()) return fail(POCKET_INVALID_ARGUMENT, "output index out of range");
  *data = s->session->output(index).data;
  return POCKET_OK;
}

const char* pocket_session_notices(const pocket_session* s) { return s ? s->notices.c_str() : ""; }

size_t pocket_session_arena_bytes(const pocket_session* s) { return s ? s->session->arena_bytes() : 0; }
size_t pocket_session_arena_lower_bound(const pocket_session* s) { return s ? s->session->arena_lower_bound() : 0; }

}  // extern "C"

extern "C" pocket_status pocket_session_memory(const pocket_session* session, pocket_memory_report* out) {
  if (!session || !out) return fail(POCKET_INVALID_ARGUMENT, "pocket_session_memory: session and out must not be NULL");
  const pocket::MemoryReport m = session->session->memory();
  *out = pocket_memory_report{m.arena, m.arena_lower_bound, m.packed_weights, m.converted_constants, m.known_values,
                              m.xnnpack, m.op_private, m.session_overhead, m.model_file, m.total()};
  return POCKET_OK;
}
