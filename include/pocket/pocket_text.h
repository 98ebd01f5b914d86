/* Pocket text pipeline: BERT WordPiece tokenization and text classification. The C API.
 *
 * The conventions of pocket.h hold here: opaque handles freed by their *_free (NULL ignored); every
 * call that can fail returns a pocket_status, and on failure pocket_text_last_error() (the same
 * thread-local message as pocket_last_error()) names the problem, creating calls set their out
 * handle to NULL, and the objects involved are unchanged. A NULL where an object is required is
 * POCKET_INVALID_ARGUMENT naming the argument; allocation failure is POCKET_OUT_OF_MEMORY; no C++
 * exception crosses the API and nothing aborts on bad input. Texts are UTF-8; invalid sequences
 * are replaced with U+FFFD (and then dropped, as BERT drops U+FFFD), never rejected.
 *
 * Threads: a tokenizer is immutable, so any number of threads may use one at once. A classifier
 * must be used by one thread at a time (create one per thread; each loads its own model copy).
 *
 *   pocket_text_classifier* c;
 *   if (pocket_text_classifier_create("sst2.pocket", NULL, &c) != POCKET_OK) puts(pocket_text_last_error());
 *   pocket_text_result r;
 *   pocket_text_classify(c, "a gripping, funny film", POCKET_TEXT_NUL_TERMINATED, &r);
 *   printf("%s %.3f\n", r.label, r.probability);
 *   pocket_text_classifier_free(c);
 *
 * The model carries its tokenizer: pocket-convert model.onnx -o model.pocket --tokenizer vocab.txt
 * --labels labels.txt.
 */
#ifndef POCKET_POCKET_TEXT_H_
#define POCKET_POCKET_TEXT_H_

#include <stddef.h>
#include <stdint.h>

#include "pocket/pocket.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pass as text_bytes when the text is NUL-terminated. */
#define POCKET_TEXT_NUL_TERMINATED ((size_t)-1)

typedef struct pocket_text_tokenizer pocket_text_tokenizer;   /* immutable; shareable between threads */
typedef struct pocket_text_classifier pocket_text_classifier; /* use from one thread at a time */

/* The message of the last failing call of the C API on this thread ("" if none): the same string
 * as pocket_last_error(). Valid until the next failing call on this thread. Never NULL. */
const char* pocket_text_last_error(void);

/* ---- Tokenizer ---------------------------------------------------------------------------- */

/* The WordPiece tokenizer stored in a .pocket file's metadata. The caller frees *out with
 * pocket_text_tokenizer_free. Errors: POCKET_INVALID_ARGUMENT (NULL argument; the model has no
 * tokenizer or another kind), POCKET_IO_ERROR, POCKET_INVALID_MODEL and POCKET_UNSUPPORTED (as
 * pocket_model_load), POCKET_OUT_OF_MEMORY. */
pocket_status pocket_text_tokenizer_load(const char* model_path, pocket_text_tokenizer** out);
/* A tokenizer from a BERT vocab.txt. lowercase: 1 for uncased models (lower-case and strip
 * accents), 0 for cased ones. max_length: longest encoding with [CLS] and [SEP] (0: 512). The
 * caller frees *out with pocket_text_tokenizer_free. Errors: POCKET_INVALID_ARGUMENT (NULL argument,
 * max_length < 0, a vocabulary without the special tokens), POCKET_IO_ERROR (cannot read the
 * file), POCKET_OUT_OF_MEMORY. */
pocket_status pocket_text_tokenizer_from_vocab(const char* vocab_path, int32_t lowercase, int32_t max_length,
                                               pocket_text_tokenizer** out);
/* Frees a tokenizer made by pocket_text_tokenizer_load / _from_vocab. NULL is ignored. Never pass
 * the tokenizer of pocket_text_classifier_tokenizer (the classifier owns it). */
void pocket_text_tokenizer_free(pocket_text_tokenizer* tokenizer);

/* The number of tokens in the vocabulary (0 when tokenizer is NULL). */
size_t pocket_text_tokenizer_vocab_size(const pocket_text_tokenizer* tokenizer);
/* The token text of an id ("" when out of range or tokenizer NULL); lives as long as the
 * tokenizer. */
const char* pocket_text_tokenizer_token(const pocket_text_tokenizer* tokenizer, int64_t id);
/* The id of a token text, -1 when absent or an argument is NULL. */
int64_t pocket_text_tokenizer_token_id(const pocket_text_tokenizer* tokenizer, const char* token);

/* Encodes [CLS] pieces [SEP], truncated to max_length (0: the tokenizer's) and padded with [PAD]
 * to pad_to when longer than the encoding (0: no padding). Writes the encoding's length to
 * *out_length; ids and mask (either may be NULL) receive min(length, capacity) values: 1 in the
 * mask for tokens, 0 for padding. Fails with POCKET_INVALID_ARGUMENT when capacity is smaller
 * than the length (after setting *out_length, so a caller can size its buffers and retry).
 * text may be NULL only for an empty text (text_bytes 0 or POCKET_TEXT_NUL_TERMINATED). Other
 * errors: POCKET_INVALID_ARGUMENT (NULL tokenizer or out_length, pad_to < 0, max_length 1 or < 0),
 * POCKET_OUT_OF_MEMORY. */
pocket_status pocket_text_tokenizer_encode(const pocket_text_tokenizer* tokenizer, const char* text, size_t text_bytes,
                                           int32_t pad_to, int32_t max_length, int64_t* ids, int64_t* mask,
                                           size_t capacity, size_t* out_length);

/* ---- Classifier --------------------------------------------------------------------------- */

/* Classifier options; initialize with pocket_text_classifier_options_init. */
typedef struct pocket_text_classifier_options {
  int32_t num_threads; /* 1 (default) runs on the calling thread */
  int32_t max_length;  /* 0 (default): the tokenizer's max_length; smaller values truncate earlier, larger
                        * ones are an error. A static model's sequence length caps it. */
} pocket_text_classifier_options;

/* Sets every field to its default. NULL is ignored. */
void pocket_text_classifier_options_init(pocket_text_classifier_options* options);

/* Loads a model with tokenizer metadata and an input_ids [batch, seq] input (attention_mask and
 * token_type_ids optional) and float32 [batch, classes] logits, and prepares a session for it.
 * options may be NULL (defaults). The caller frees *out with pocket_text_classifier_free. Errors:
 * POCKET_INVALID_ARGUMENT (NULL argument, bad option, a model without a tokenizer or with other
 * inputs/outputs), POCKET_IO_ERROR, POCKET_INVALID_MODEL, POCKET_UNSUPPORTED, POCKET_OUT_OF_MEMORY. */
pocket_status pocket_text_classifier_create(const char* model_path, const pocket_text_classifier_options* options,
                                            pocket_text_classifier** out);
/* The same from an in-memory .pocket file (copied: data may be freed right after). */
pocket_status pocket_text_classifier_create_from_buffer(const void* data, size_t size,
                                                        const pocket_text_classifier_options* options,
                                                        pocket_text_classifier** out);
/* Frees the classifier, its tokenizer and its last result. NULL is ignored. */
void pocket_text_classifier_free(pocket_text_classifier* classifier);

/* The number of classes (0 when classifier is NULL). */
size_t pocket_text_classifier_num_classes(const pocket_text_classifier* classifier);
/* Metadata label of a class, or "class N" ("" when out of range or classifier NULL); lives as long
 * as the classifier. */
const char* pocket_text_classifier_label(const pocket_text_classifier* classifier, size_t index);
/* The classifier's tokenizer (NULL when classifier is NULL); owned by the classifier and valid as
 * long as it: do not free it. */
const pocket_text_tokenizer* pocket_text_classifier_tokenizer(const pocket_text_classifier* classifier);

/* One classification. Pointers stay valid until the next pocket_text_classify on the same
 * classifier or its free. */
typedef struct pocket_text_result {
  int64_t index;              /* most probable class */
  const char* label;          /* its label */
  float probability;
  size_t num_classes;
  const float* probabilities; /* num_classes values (softmax of the logits) */
  const float* logits;        /* num_classes values as the model gave them */
  size_t num_tokens;          /* tokens the model saw, padding included */
  size_t num_real_tokens;     /* [CLS] ... [SEP] without padding */
  const int64_t* token_ids;   /* num_tokens ids */
  int64_t truncated;          /* word pieces dropped to fit the maximum length */
  int64_t invalid_utf8;       /* invalid UTF-8 sequences replaced in the text */
} pocket_text_result;

/* Tokenizes text (text_bytes bytes, or POCKET_TEXT_NUL_TERMINATED), runs the model and fills *out
 * (see pocket_text_result for how long its pointers live). text may be NULL only for an empty
 * text. Errors: POCKET_INVALID_ARGUMENT (NULL classifier or out; NULL text with a byte count),
 * POCKET_OUT_OF_MEMORY, and those of a resize when the text needs a longer sequence than the
 * session has (dynamic models). One thread at a time per classifier. */
pocket_status pocket_text_classify(pocket_text_classifier* classifier, const char* text, size_t text_bytes,
                                   pocket_text_result* out);

#ifdef __cplusplus
}
#endif

#endif /* POCKET_POCKET_TEXT_H_ */
