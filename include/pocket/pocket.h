/* Pocket: on-device neural-network inference. The C API.
 *
 *   pocket_model* model;
 *   if (pocket_model_load("mnv3.pocket", &model) != POCKET_OK) { puts(pocket_last_error()); return 1; }
 *   pocket_session* s;
 *   if (pocket_session_create(model, NULL, &s) != POCKET_OK) { ... }
 *   const int64_t shape[4] = {1, 3, 224, 224};
 *   pocket_session_set_input(s, "input", POCKET_F32, shape, 4, pixels);
 *   pocket_session_run(s);
 *   const void* logits;  pocket_session_output_data(s, 0, &logits);
 *   pocket_session_free(s);  pocket_model_free(model);
 *
 * Conventions, true of every function below unless its comment says otherwise:
 *
 * Handles. pocket_model, pocket_session and pocket_pacer are opaque: created by a *_load / *_create
 * call that writes the handle to its out-parameter, freed by the matching *_free (which accepts
 * NULL). Structs the caller fills (options, reports) are plain C structs; initialize options with
 * their *_init function so that fields added later get their defaults.
 *
 * Errors. Every call that can fail returns a pocket_status. On failure:
 *   - pocket_last_error() holds a one-line message that names the problem (the function, the
 *     argument, tensor, shape or file involved);
 *   - out-parameters of creating calls (out_model, out_session, out_pacer) are set to NULL when they
 *     are not NULL themselves; other out-parameters are left untouched (unless the function's
 *     comment says otherwise);
 *   - the objects involved are unchanged and still usable (a failed resize keeps the old shapes).
 * A NULL pointer where an object is required gives POCKET_INVALID_ARGUMENT with a message naming the
 * argument ("pocket_session_run: session must not be NULL"). Calls that return a count, a string or
 * a flag instead of a status return 0 / NULL / "" for a NULL handle and never fail otherwise.
 * No C++ exception ever crosses this API: an allocation failure inside a call is reported as
 * POCKET_OUT_OF_MEMORY, any other unexpected internal failure as POCKET_INTERNAL, with a message.
 * Nothing aborts on bad input, including corrupt or hostile model files.
 *
 * Threads. A pocket_model is immutable once loaded: any number of threads may use one model at the
 * same time (create sessions, read labels); sessions share its weights. A pocket_session (and a
 * pocket_pacer wrapping it) must be used by one thread at a time; to run in parallel, create one
 * session per thread from the same model. pocket_last_error() is per thread. Freeing a handle must
 * not race with any other use of that same handle.
 *
 * Strings are UTF-8 and NUL-terminated. Sizes are in bytes unless named otherwise; shapes are int64_t.
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
  POCKET_INVALID_ARGUMENT = 1, /* the caller passed something wrong: NULL, name, shape, dtype, option */
  POCKET_INVALID_MODEL = 2,    /* corrupt or inconsistent model file */
  POCKET_UNSUPPORTED = 3,      /* valid, but not runnable by this build (op, dtype, attribute) */
  POCKET_IO_ERROR = 4,         /* a file could not be opened, mapped, read or written */
  POCKET_OUT_OF_MEMORY = 5,    /* an allocation failed, or the plan exceeds memory_budget */
  POCKET_INTERNAL = 6          /* a bug or an unexpected system failure (the message says which) */
} pocket_status;

/* Element types. Values match the format's DType. */
typedef enum pocket_dtype {
  POCKET_F32 = 0, POCKET_F16 = 1, POCKET_BF16 = 2, POCKET_I64 = 3, POCKET_I32 = 4,
  POCKET_I8 = 5, POCKET_U8 = 6, POCKET_I4 = 7, POCKET_BOOL = 8, POCKET_F64 = 9
} pocket_dtype;

typedef struct pocket_model pocket_model;     /* immutable; shareable between threads */
typedef struct pocket_session pocket_session; /* one thread at a time */

/* Describes an input or output. name lives as long as the session; shape stays valid until the
 * session is resized or freed. */
typedef struct pocket_tensor_info {
  const char* name;
  pocket_dtype dtype;
  int32_t rank;
  const int64_t* shape; /* rank values */
  size_t bytes;         /* the tensor's size in bytes */
} pocket_tensor_info;

/* Session creation options. Initialize with pocket_session_options_init, then change fields. The
 * pointers are read during pocket_session_create only (they may be freed afterwards). */
typedef struct pocket_session_options {
  int32_t num_threads; /* 1 (default) runs on the calling thread; N in 2..1024 uses a pool of N */
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
  /* Sustained mode, for long-running inference on battery or in a warm device: 1 caps num_threads
   * at sustained_max_threads, or when that is 0 (default) at half the CPU's cores (at least 1);
   * pocket_session_num_threads reports the count used. 0 (default): no cap. Pair it with a
   * pocket_pacer's duty_cycle to bound the CPU time as well. */
  int32_t sustained;
  int32_t sustained_max_threads; /* >= 0 */
  /* Where nodes run. NULL or "cpu" (default): every node on the CPU. "vulkan": the Vulkan backend
   * runs every subgraph of nodes it supports (a CPU Vulkan driver such as lavapipe is accepted
   * when there is no GPU); without a usable Vulkan device the session runs on the CPU and says so
   * in pocket_session_notices. "auto": Vulkan only on a GPU and only when the nodes it supports
   * hold at least half of the model's FLOPs, else the CPU. Any other name: POCKET_INVALID_ARGUMENT.
   * pocket_session_partition_summary tells what was decided and why. */
  const char* backend;
  /* 1: the backend stores activations and weights as fp16 where the device can (results then
   * match the CPU within about 1e-2 relative). 2: fp16 storage and fp16 arithmetic (the
   * multiply-adds of convolutions, MatMul/Gemm and attention scores, summed in fp32 every 16
   * terms) where the device can; a device without fp16 arithmetic computes in fp32 and says so in
   * pocket_session_notices. 0 (default): fp32. Other values: POCKET_INVALID_ARGUMENT. */
  int32_t backend_fp16;
  /* 1: "vulkan" that cannot be used (no device, a subgraph the backend fails to prepare) makes
   * pocket_session_create fail instead of falling back to the CPU. 0 (default). */
  int32_t backend_required;
  /* NULL (default) or a file where the backend keeps its compiled pipelines between runs, e.g.
   * "model.pocket.vkcache" (read if present, written after creation). */
  const char* pipeline_cache_file;
  /* The most device memory the backend may allocate (pocket_memory_report.device); 0 (default): no
   * limit. A subgraph that would exceed it runs on the CPU with a notice (with backend_required:
   * POCKET_OUT_OF_MEMORY). memory_budget does not count device memory. */
  size_t device_memory_budget;
} pocket_session_options;

/* ---- Errors and version ------------------------------------------------------------------- */

/* The message of the last failing call of the C API on this thread (pocket.h, pocket_text.h and
 * pocket_speech.h alike), or "" if none failed yet. Owned by the library; valid until the next
 * failing call on the same thread. Successful calls do not clear it. Never NULL. */
const char* pocket_last_error(void);
/* The library version, "1.0.0". A static string. */
const char* pocket_version(void);

/* ---- Models ------------------------------------------------------------------------------- */

/* Maps a .pocket file read-only and validates it completely (structure, every index, offset,
 * shape, dtype and attribute). On success *out_model is a new model the caller frees with
 * pocket_model_free; the file must not be modified while the model lives.
 * Errors: POCKET_INVALID_ARGUMENT (path or out_model NULL), POCKET_IO_ERROR (cannot open/map),
 * POCKET_INVALID_MODEL (not a valid model: the message names what is wrong), POCKET_UNSUPPORTED
 * (a newer format version), POCKET_OUT_OF_MEMORY. Thread-safe. */
pocket_status pocket_model_load(const char* path, pocket_model** out_model);
/* The same from memory: copies size bytes from data (the caller may free data right after).
 * Errors as pocket_model_load, without POCKET_IO_ERROR. Thread-safe. */
pocket_status pocket_model_load_buffer(const void* data, size_t size, pocket_model** out_model);
/* Releases the caller's reference. Sessions created from the model keep what they need, so a model
 * may be freed while its sessions are still in use. NULL is ignored. */
void pocket_model_free(pocket_model* model);
/* The number of class labels in the model's metadata (0 if none, or model NULL). Thread-safe. */
size_t pocket_model_num_labels(const pocket_model* model);
/* Label index (NULL when out of range or model NULL). The string lives as long as the model
 * handle. Thread-safe. */
const char* pocket_model_label(const pocket_model* model, size_t index);

/* Input preprocessing from the model's metadata (images). Strings and arrays live as long as the
 * model handle. */
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

/* 1 and fills *out when the model carries preprocessing metadata; 0 (out untouched) otherwise,
 * or when model or out is NULL. Thread-safe. */
int pocket_model_preprocessing(const pocket_model* model, pocket_preprocessing* out);

/* ---- Sessions ----------------------------------------------------------------------------- */

/* Sets every field to its default (see pocket_session_options). NULL is ignored. */
void pocket_session_options_init(pocket_session_options* options);
/* Creates a session: execution state (activation arena, packed weights, thread pool) for one model.
 * Every op is prepared and memory planned here; all failures happen here, not in run. options may
 * be NULL (defaults). On success the caller frees *out_session with pocket_session_free; the
 * session holds its own reference to the model. Errors: POCKET_INVALID_ARGUMENT (NULL model or
 * out_session, bad option, unknown input in input_shape_names, bad tuning file),
 * POCKET_UNSUPPORTED (an op this build cannot run with these shapes), POCKET_INVALID_MODEL,
 * POCKET_OUT_OF_MEMORY (allocation failed, or the plan exceeds memory_budget), POCKET_IO_ERROR
 * (the tuning file cannot be read or written), POCKET_INTERNAL (e.g. no thread pool). Thread-safe with
 * respect to the model: threads may create sessions from one model concurrently. */
pocket_status pocket_session_create(const pocket_model* model, const pocket_session_options* options,
                                    pocket_session** out_session);
/* Frees the session and everything it owns (outputs, input buffers, its pool). Free pacers that
 * wrap it first. NULL is ignored. */
void pocket_session_free(pocket_session* session);

/* The number of inputs / outputs (0 when session is NULL). */
size_t pocket_session_num_inputs(const pocket_session* session);
size_t pocket_session_num_outputs(const pocket_session* session);
/* The thread count the session runs with: num_threads, after sustained mode's cap (0 when session
 * is NULL). */
int32_t pocket_session_num_threads(const pocket_session* session);
/* Fills *info for input / output index (model order). Errors: POCKET_INVALID_ARGUMENT (NULL
 * argument, index out of range). See pocket_tensor_info for how long its pointers live. */
pocket_status pocket_session_input_info(const pocket_session* session, size_t index, pocket_tensor_info* info);
pocket_status pocket_session_output_info(const pocket_session* session, size_t index, pocket_tensor_info* info);

/* Copies an input in (the session keeps no pointer to data). dtype and shape must equal the
 * input's current ones (resize first to change the shape). Errors: POCKET_INVALID_ARGUMENT (NULL
 * session, name or data; rank < 0; shape NULL with rank > 0; no input of that name; dtype or shape
 * mismatch: the message names the input, the expected and the given dtype or shape). */
pocket_status pocket_session_set_input(pocket_session* session, const char* name, pocket_dtype dtype,
                                       const int64_t* shape, int32_t rank, const void* data);
/* Direct access to input index's buffer inside the session, to write before run (its size is
 * pocket_tensor_info.bytes). *data stays valid until the session is resized or freed. Inputs are
 * not overwritten by run: running again without writing them gives the same outputs. Errors:
 * POCKET_INVALID_ARGUMENT (NULL argument, index out of range). */
pocket_status pocket_session_input_data(pocket_session* session, size_t index, void** data);
/* Gives an input a new shape and re-plans the session (input contents are not kept; earlier input
 * and output pointers become invalid). Symbolic dims are bound by name: when the model's input_ids
 * is [batch, seq] and attention_mask is [batch, seq], giving input_ids the shape [1, 128] gives
 * attention_mask [1, 128] too. Errors: POCKET_INVALID_ARGUMENT (NULL session or name, shape NULL
 * with rank > 0, no such input, a shape the model does not accept), POCKET_UNSUPPORTED,
 * POCKET_OUT_OF_MEMORY (also when the new plan exceeds memory_budget). On failure the session keeps
 * its previous shapes and stays usable. */
pocket_status pocket_session_resize_input(pocket_session* session, const char* name, const int64_t* shape,
                                          int32_t rank);
/* Several inputs at once, with one re-plan: count entries of names[i], shapes[i], ranks[i]. The
 * same binding by name; two inputs giving one dim name different sizes is an error. names, shapes
 * and ranks may be NULL when count is 0. Errors and failure behaviour as pocket_session_resize_input
 * (the message names the bad entry). */
pocket_status pocket_session_resize_inputs(pocket_session* session, size_t count, const char* const* names,
                                           const int64_t* const* shapes, const int32_t* ranks);
/* Runs the model on the current inputs. Allocates nothing. On the CPU alone it cannot fail on a
 * valid session: returns POCKET_OK, or POCKET_INVALID_ARGUMENT when session is NULL. With an
 * offloading backend (pocket_session_options.backend), a device failure during the run (a lost
 * device, a failed transfer) returns POCKET_INTERNAL with a message naming the backend and the
 * subgraph; the outputs are then not valid. */
pocket_status pocket_session_run(pocket_session* session);
/* Output index's buffer inside the session (read-only; pocket_tensor_info gives dtype, shape and
 * bytes). Valid until the next run, resize or free of the session. Errors: POCKET_INVALID_ARGUMENT
 * (NULL argument, index out of range). */
pocket_status pocket_session_output_data(const pocket_session* session, size_t index, const void** data);
/* Things worth telling the user that are not errors, one per line (stale or missing tuning file
 * entries, ...); "" when none or session NULL. Valid until the session is resized or freed. */
const char* pocket_session_notices(const pocket_session* session);
/* What runs where, as text (several lines, the last ending with a newline): the backend requested
 * and used, its device, the decision and why (e.g. "auto: ... not an accelerator ..."), ops per
 * backend and type, each offloaded subgraph's transfers per run and device memory, and every node
 * that stayed on the CPU with the reason. "" when session is NULL. Owned by the session; valid
 * until the session is resized or freed. */
const char* pocket_session_partition_summary(const pocket_session* session);
/* Bytes of the session's activation arena, and the liveness lower bound the plan is measured
 * against (the most bytes live at any one step). 0 when session is NULL. */
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
  size_t device;              /* memory the offloading backend allocated (pocket_session_options.backend;
                               * 0 on the CPU alone); device memory on a GPU, host memory on a CPU
                               * driver; not in total and not limited by memory_budget (by
                               * device_memory_budget) */
} pocket_memory_report;
/* Fills *out with the session's memory plan (what memory_budget is checked against). Errors:
 * POCKET_INVALID_ARGUMENT (NULL argument). */
pocket_status pocket_session_memory(const pocket_session* session, pocket_memory_report* out);

/* ---- Pacing: battery- and heat-friendly inference ------------------------------------------ */

/* A pacer wraps a session for inputs that arrive faster than results are needed (a camera at
 * 30 fps, a sensor stream): pocket_pacer_run runs the model at most once per min_interval_ns and
 * keeps the CPU busy at most duty_cycle of the time; otherwise it leaves the outputs as the last
 * run left them (the previous result) and says so. With sustained mode (pocket_session_options)
 * it bounds both the cores and the time a model takes. */
typedef struct pocket_pacer pocket_pacer; /* one thread at a time, the thread that uses its session */

/* A monotonic clock in nanoseconds (any origin; never going backwards), called with the context
 * given beside it. It must not call back into the pacer. */
typedef int64_t (*pocket_clock_fn)(void* context);

typedef struct pocket_pacer_options {
  /* A run starts at most once per min_interval_ns, measured start to start. 0 (default): no rate
   * limit. >= 0. */
  int64_t min_interval_ns;
  /* In (0, 1]. After a run that took t, the next run starts no sooner than t * (1 / duty_cycle - 1)
   * after it ended, so the model keeps the CPU busy at most duty_cycle of the time (0.25: a run of
   * 40 ms is followed by at least 120 ms of rest). 1 (default): no duty-cycle limit. */
  double duty_cycle;
  /* NULL (default): the system's monotonic clock. Tests inject a fake one. */
  pocket_clock_fn clock;
  void* clock_context; /* passed to clock; not owned */
} pocket_pacer_options;

typedef enum pocket_pace_result {
  POCKET_PACE_RAN = 0,   /* the model ran: the outputs are fresh */
  POCKET_PACE_REUSED = 1 /* too soon: the model did not run, the outputs hold the previous result */
} pocket_pace_result;

typedef struct pocket_pacer_stats {
  int64_t runs;        /* calls that ran the model */
  int64_t reused;      /* calls that returned the previous result */
  int64_t last_run_ns; /* duration of the last run */
  int64_t busy_ns;     /* total duration of all runs */
  int64_t next_run_ns; /* clock time from which an unforced call runs (INT64_MIN before the first) */
  int64_t wait_ns;     /* next_run_ns - now, or 0 when a call would run now */
} pocket_pacer_stats;

/* Sets every field to its default. NULL is ignored. */
void pocket_pacer_options_init(pocket_pacer_options* options);
/* Creates a pacer over session (not owned: the session must outlive the pacer). The options are
 * copied. The caller frees *out_pacer with pocket_pacer_free. Errors: POCKET_INVALID_ARGUMENT
 * (NULL argument, min_interval_ns < 0, duty_cycle outside (0, 1]), POCKET_OUT_OF_MEMORY. */
pocket_status pocket_pacer_create(pocket_session* session, const pocket_pacer_options* options,
                                  pocket_pacer** out_pacer);
/* Frees the pacer (not its session). NULL is ignored. */
void pocket_pacer_free(pocket_pacer* pacer);
/* Runs the session when allowed and reports POCKET_PACE_RAN in *out_result (which may be NULL),
 * or returns at once with POCKET_PACE_REUSED, leaving the outputs untouched. The first call always
 * runs; so does a call after the session was resized (the outputs no longer hold a result). New
 * inputs do NOT force a run: the pacer does not look at them; pass force = 1 when a fresh result is
 * needed now (force ignores both limits, and the run still counts for the next ones). A reused
 * call does not wait or sleep. Errors: POCKET_INVALID_ARGUMENT (NULL pacer), POCKET_INTERNAL or
 * POCKET_OUT_OF_MEMORY when a C++ clock callback threw. */
pocket_status pocket_pacer_run(pocket_pacer* pacer, int32_t force, pocket_pace_result* out_result);
/* Fills *out (reads the clock once for wait_ns). Errors: POCKET_INVALID_ARGUMENT (NULL argument). */
pocket_status pocket_pacer_get_stats(const pocket_pacer* pacer, pocket_pacer_stats* out);

#ifdef __cplusplus
}
#endif

#endif /* POCKET_POCKET_H_ */
