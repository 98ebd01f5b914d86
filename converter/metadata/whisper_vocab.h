// Whisper's vocabulary from openai-whisper's tiktoken file (assets/multilingual.tiktoken or
// gpt2.tiktoken: one "base64(token bytes) rank" per line) as .pocket tokenizer metadata.
//
// Ids 0..N-1 are the ranks, stored as text in GPT-2's byte-to-unicode alphabet. The special
// tokens follow in openai-whisper's order: <|endoftext|>, <|startoftranscript|>, one token per
// language code (whisper's LANGUAGES order; 99 for n_vocab 51865, 100 for 51866),
// <|translate|>, <|transcribe|>, <|startoflm|>, <|startofprev|>, <|nospeech|>,
// <|notimestamps|>, then the timestamps <|0.00|>, <|0.02|>, ... up to n_vocab. The language count
// is what n_vocab leaves after N ranks, 8 specials and 1501 timestamps (at most 100).
//
// special_tokens roles: "eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev",
// "nospeech", "notimestamps", "timestamp_begin", and "lang:<code>" per language.
// suppress_tokens: whisper's default suppress set (DecodingOptions.suppress_tokens "-1"): the
// non-speech tokens computed as tokenizer.py's non_speech_tokens does, plus transcribe,
// translate, sot, sot_prev, sot_lm and nospeech (decoding.py), sorted and unique.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"
#include "format/builder.h"

namespace pocket::converter {

// Whisper's language codes in tokenizer.py's LANGUAGES order (100 codes).
const std::vector<std::string>& whisper_language_codes();

// Fills out (kind "bytelevel_bpe", vocab, special_tokens, suppress_tokens, max_length 448).
// Errors: missing/unreadable file, a malformed line or bad base64, ranks that are not 0..N-1
// exactly once, duplicate token bytes, n_vocab too small for the ranks, specials and timestamps.
Status read_whisper_vocab(const std::string& path, int64_t n_vocab, format::TokenizerDesc* out);

// Same from the file's text (for tests).
Status parse_whisper_vocab(const std::string& text, int64_t n_vocab, format::TokenizerDesc* out,
                           const std::string& source_name = "tiktoken file");

}  // namespace pocket::converter
