/* Pocket speech recognition (Whisper): the C API.
 *
 * A transcriber holds a Whisper encoder and decoder-step model (converted with tokenizer and
 * audio front-end metadata) and one session of each. Audio in: a WAV file or float samples at
 * any rate (resampled to 16 kHz); the first 30 s are transcribed with greedy decoding.
 *
 *   pocket_transcriber_options o;  pocket_transcriber_options_init(&o);
 *   pocket_transcriber* t;         pocket_transcriber_create("enc.pocket", "dec.pocket", &o, &t);
 *   pocket_transcription r;        pocket_transcribe_wav(t, "clip.wav", &r);
 *   puts(r.text);                  pocket_transcriber_free(t);
 *
 * The conventions of pocket.h hold here: an opaque handle freed by pocket_transcriber_free (NULL
 * ignored); every call that can fail returns a pocket_status, and on failure
 * pocket_speech_last_error() (the same thread-local message as pocket_last_error()) names the
 * problem, pocket_transcriber_create sets *out_transcriber to NULL, and the transcriber is
 * unchanged. A NULL where an object is required is POCKET_INVALID_ARGUMENT naming the argument;
 * allocation failure is POCKET_OUT_OF_MEMORY; no C++ exception crosses the API and nothing aborts
 * on bad input (corrupt WAV files and models included).
 *
 * Threads: a transcriber must be used by one thread at a time; create one per thread.
 */
#ifndef POCKET_POCKET_SPEECH_H_
#define POCKET_POCKET_SPEECH_H_

#include <stddef.h>
#include <stdint.h>

#include "pocket/pocket.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pocket_transcriber pocket_transcriber; /* use from one thread at a time */

/* Transcriber options; initialize with pocket_transcriber_options_init. The strings are read during
 * pocket_transcriber_create only. */
typedef struct pocket_transcriber_options {
  int32_t num_threads;  /* 1 (default) */
  const char* language; /* whisper language code, "en" (default); ignored by English-only models */
  const char* task;     /* "transcribe" (default) or "translate" */
  int32_t max_tokens;   /* sampled tokens per clip, 224 (default) */
} pocket_transcriber_options;

/* One result. Pointers stay valid until the next transcribe call on the transcriber, or its free. */
typedef struct pocket_transcription {
  const char* text;          /* UTF-8, special tokens dropped, whitespace stripped */
  const int32_t* tokens;     /* sampled token ids (end-of-text excluded) */
  size_t num_tokens;
  int32_t stopped_at_eot;    /* 1 when decoding ended with end-of-text, 0 at max_tokens */
  double audio_seconds;      /* length of the input audio */
  double resample_ms, mel_ms, encoder_ms, decoder_ms, total_ms;
  int32_t decoder_steps;     /* prompt tokens + sampled tokens */
  double decoder_ms_per_token;
  double real_time_factor;   /* total time / audio length */
  double cpu_ms;             /* process CPU time over the clip (all threads) */
  const char* notices;       /* things worth telling the user, one per line; "" when none */
} pocket_transcription;

/* The message of the last failing call of the C API on this thread ("" if none): the same string
 * as pocket_last_error(). Valid until the next failing call on this thread. Never NULL. */
const char* pocket_speech_last_error(void);

/* Sets every field to its default. NULL is ignored. */
void pocket_transcriber_options_init(pocket_transcriber_options* options);

/* Loads both models, checks their graph interface and metadata, prepares both sessions.
 * options may be NULL (defaults). The caller frees *out_transcriber with pocket_transcriber_free.
 * Errors: POCKET_INVALID_ARGUMENT (NULL path or out_transcriber, bad option, models that are not a
 * Whisper encoder / decoder step pair or lack their metadata), POCKET_IO_ERROR, POCKET_INVALID_MODEL
 * and POCKET_UNSUPPORTED (as pocket_model_load; the message says which model), POCKET_OUT_OF_MEMORY. */
pocket_status pocket_transcriber_create(const char* encoder_path, const char* decoder_path,
                                        const pocket_transcriber_options* options,
                                        pocket_transcriber** out_transcriber);
/* Frees the transcriber, its sessions and its last result. NULL is ignored. */
void pocket_transcriber_free(pocket_transcriber* transcriber);

/* Reads a WAV file (PCM 8/16/24/32-bit, float 32/64, any channel count and rate) and transcribes
 * its first 30 s into *out (see pocket_transcription for how long its pointers live). Errors:
 * POCKET_INVALID_ARGUMENT (NULL argument; not a valid WAV file: the message says what is wrong),
 * POCKET_UNSUPPORTED (a WAV encoding not listed above), POCKET_IO_ERROR (cannot read the file),
 * POCKET_OUT_OF_MEMORY. */
pocket_status pocket_transcribe_wav(pocket_transcriber* transcriber, const char* wav_path,
                                    pocket_transcription* out);
/* The same from count mono float samples (nominally in [-1, 1]) at sample_rate Hz. samples may be
 * NULL when count is 0. Errors: POCKET_INVALID_ARGUMENT (NULL transcriber or out, NULL samples with
 * count > 0, sample_rate <= 0), POCKET_OUT_OF_MEMORY. */
pocket_status pocket_transcribe_pcm(pocket_transcriber* transcriber, const float* samples, size_t count,
                                    int32_t sample_rate, pocket_transcription* out);

#ifdef __cplusplus
}
#endif

#endif /* POCKET_POCKET_SPEECH_H_ */
