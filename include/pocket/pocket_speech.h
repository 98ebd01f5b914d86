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
 * Errors: every call that can fail returns a pocket_status; the message is in
 * pocket_speech_last_error() (thread-local, valid until the next failing speech call).
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

const char* pocket_speech_last_error(void);

void pocket_transcriber_options_init(pocket_transcriber_options* options);

/* Loads both models, checks their graph interface and metadata, prepares both sessions.
 * options may be NULL. */
pocket_status pocket_transcriber_create(const char* encoder_path, const char* decoder_path,
                                        const pocket_transcriber_options* options,
                                        pocket_transcriber** out_transcriber);
void pocket_transcriber_free(pocket_transcriber* transcriber);

/* Reads a WAV file (PCM 8/16/24/32-bit, float 32/64, any channel count and rate). */
pocket_status pocket_transcribe_wav(pocket_transcriber* transcriber, const char* wav_path,
                                    pocket_transcription* out);
/* Mono float samples (nominally in [-1, 1]) at sample_rate Hz. */
pocket_status pocket_transcribe_pcm(pocket_transcriber* transcriber, const float* samples, size_t count,
                                    int32_t sample_rate, pocket_transcription* out);

#ifdef __cplusplus
}
#endif

#endif /* POCKET_POCKET_SPEECH_H_ */
