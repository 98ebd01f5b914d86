/* Pocket: on-device neural-network inference. The C API.
 *
 * Opaque handles, plain C types, status codes. Every call that can fail returns a pocket_status;
 * on failure pocket_last_error() gives a one-line message naming the problem (thread-local, valid
 * until the next failing call on the same thread). No call throws or aborts on bad input.
 *
 *   pocket_model* model;   pocket_model_load("mnv3.pocket", &model);
 *   pocket_session* s;     pocket_session_create(model, NULL, &s);
 *   pocket_session_set_input(s, "input", POCKET_F32, shape, 4, pixels);
 *   pocket_session_run(s);
 *   pocket_session_output(s, 0, &info, &data);
 */
#ifndef POCKET_POCKET_H_
#define POCKET_POCKET_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pocket_status {
  POCKET_OK = 0,
  POCKET_INVALID_ARGUMENT = 1, /* wrong name, shape, dtype or option */
  POCKET_INVALID_MODEL = 2,    /* corrupt or inconsistent model file */
  POCKET_UNSUPPORTED = 3,      /* valid, but not runnable by this build */
  POCKET_IO_ERROR = 4,
  POCKET_OUT_OF_MEMORY = 5,
  POCKET_INTERNAL = 6
} pocket_status;

/* Values match the format's DType. */
typedef enum pocket_dtype {
  POCKET_F32 = 0, POCKET_F16 = 1, POCKET_BF16 = 2, POCKET_I64 = 3, POCKET_I32 = 4,
  POCKET_I8 = 5, POCKET_U8 = 6, POCKET_I4 = 7, POCKET_BOOL = 8, POCKET_F64 = 9
} pocket_dtype;

typedef struct pocket_model pocket_model;     /* immutable, shareable between threads */
typedef struct pocket_session pocket_session; /* use from one thread at a time */

/* Describes an input or output. Pointers stay valid until the session is resized or freed. */
typedef struct pocket_tensor_info {
  const char* name;
  pocket_dtype dtype;
  int32_t rank;
  const int64_t* shape;
  size_t bytes;
} pocket_tensor_info;

typedef struct pocket_session_options {
  int32_t num_threads; /* 1 (default) runs on the calling thread */
  /* Kernel choice for ops with several implementations. 0 (default): each op's documented
   * heuristic. 1: time every variant once at creation (on temporary buffers) and keep the fastest. */
  int32_t tune;
  /* NULL (default) or a tuning file, e.g. "model.pocket.tune" beside the model. Without tune, the
   * choices saved there are used where they still match the op, its input shapes, the thread count
   * and the CPU (stale entries are ignored; see pocket_session_notices). With tune, the file is
   * written (atomically) with the fresh choices; entries for other thread counts are kept. A missing
   * file is fine; a file that is not a Pocket tuning file is an error and is never overwritten. */
  const char* tuning_file;
  /* 1 (default): with num_threads > 1, runs go to the calling thread alone while pooled runs are
   * measured slower (another process holds a worker's core); the pool is re-tried every few runs.
   * 0: always use the pool. */
  int32_t adaptive_threads;
  /* Input shapes to start with (0 / NULL by default), applied as pocket_session_resize_inputs
   * would, before the one prepare at creation: num_input_shapes entries of name, shape, rank. */
  size_t num_input_shapes;
  const char* const* input_shape_names;
  const int64_t* const* input_shapes;
  const int32_t* input_shape_ranks;
  /* The most bytes the session may use (pocket_memory_report.total); 0 (default): no limit.
   * pocket_session_create and the resize calls fail with POCKET_OUT_OF_MEMORY, and a message
   * naming the plan's parts and the budget, when the plan needs more. */
  size_t memory_budget;
} pocket_session_options;

/* The message of the last failing call on this thread ("" if none). */
const char* pocket_last_error(void);
/* "1.0.0" */
const char* pocket_version(void);

/* Maps and validates a model file. */
pocket_status pocket_model_load(const char* path, pocket_model** out_model);
/* Copies and validates an in-memory model. */
pocket_status pocket_model_load_buffer(const void* data, size_t size, pocket_model** out_model);
void pocket_model_free(pocket_model* model);
/* Labels from the model's metadata (0 if none); the string lives as long as the model. */
size_t pocket_model_num_labels(const pocket_model* model);
const char* pocket_model_label(const pocket_model* model, size_t index);

/* Input preprocessing from the model's metadata (images). Strings and arrays live as long as the
 * model. */
typedef struct pocket_preprocessing {
  int32_t width, height;   /* model input size in pixels */
  const char* layout;      /* "NCHW" or "NHWC" */
  const char* color_order; /* "RGB" or "BGR" */
  const char* resize;      /* "stretch" or "shorter_side_center_crop" */
  const float* mean;       /* per channel, applied after scale */
  size_t mean_count;
  const float* std;
  size_t std_count;
  float scale;             /* pixel multiplier applied first, e.g. 1/255 */
} pocket_preprocessing;

/* 1 and fills *out when the model carries preprocessing metadata; 0 (out untouched) otherwise. */
int pocket_model_preprocessing(const pocket_model* model, pocket_preprocessing* out);

void pocket_session_options_init(pocket_session_options* options);
/* Prepares every op and plans memory; all failures happen here, not in run. options may be NULL. */
pocket_status pocket_session_create(const pocket_model* model, const pocket_session_options* options,
                                    pocket_session** out_session);
void pocket_session_free(pocket_session* session);

size_t pocket_session_num_inputs(const pocket_session* session);
size_t pocket_session_num_outputs(const pocket_session* session);
pocket_status pocket_session_input_info(const pocket_session* session, size_t index, pocket_tensor_info* info);
pocket_status pocket_session_output_info(const pocket_session* session, size_t index, pocket_tensor_info* info);

/* Copies an input in; dtype and shape must match the input's (the error names both). */
pocket_status pocket_session_set_input(pocket_session* session, const char* name, pocket_dtype dtype,
                                       const int64_t* shape, int32_t rank, const void* data);
/* Direct access to an input's buffer inside the session (write before run). */
pocket_status pocket_session_input_data(pocket_session* session, size_t index, void** data);
/* Gives an input a new shape and re-plans the session (input contents are not kept). Symbolic
 * dims are bound by name: when the model's input_ids is [batch, seq] and attention_mask is
 * [batch, seq], giving input_ids the shape [1, 128] gives attention_mask [1, 128] too. On failure
 * the session keeps its previous shapes. */
pocket_status pocket_session_resize_input(pocket_session* session, const char* name, const int64_t* shape,
                                          int32_t rank);
/* Several inputs at once, with one re-plan: count entries of names[i], shapes[i], ranks[i]. The
 * same binding by name; two inputs giving one dim name different sizes is an error. */
pocket_status pocket_session_resize_inputs(pocket_session* session, size_t count, const char* const* names,
                                           const int64_t* const* shapes, const int32_t* ranks);
pocket_status pocket_session_run(pocket_session* session);
/* An output's buffer, valid until the next run, resize or free. */
pocket_status pocket_session_output_data(const pocket_session* session, size_t index, const void** data);
/* Things worth telling the user that are not errors, one per line (stale or missing tuning file
 * entries, ...); "" when none. Valid until the session is resized or freed. */
const char* pocket_session_notices(const pocket_session* session);
/* Bytes of the session's activation arena, and the liveness lower bound the plan is measured
 * against (the most bytes live at any one step). */
size_t pocket_session_arena_bytes(const pocket_session* session);
size_t pocket_session_arena_lower_bound(const pocket_session* session);

/* Every byte a session uses, known once creation (or a resize) has finished; run allocates
 * nothing. Shared parts (packed weights, converted constants) are counted in every session that
 * holds them; model_file is the model's own mapping and is not part of total. */
typedef struct pocket_memory_report {
  size_t arena;               /* activations and kernel scratch */
  size_t arena_lower_bound;   /* the most bytes live at any one step */
  size_t packed_weights;      /* packed weights (shared with the model's other sessions) */
  size_t converted_constants; /* F32 copies of F16 / int8 constants (shared likewise) */
  size_t known_values;        /* values computed once at creation */
  size_t xnnpack;             /* XNNPACK operators' heap */
  size_t op_private;          /* other per-op heap buffers */
  size_t session_overhead;    /* the session's own tables */
  size_t model_file;          /* the model's mapping (not in total) */
  size_t total;               /* the sum of the parts above except model_file */
} pocket_memory_report;
pocket_status pocket_session_memory(const pocket_session* session, pocket_memory_report* out);

#ifdef __cplusplus
}
#endif

#endif /* POCKET_POCKET_H_ */
