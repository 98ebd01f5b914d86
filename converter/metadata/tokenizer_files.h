// Tokenizer and audio front-end metadata for pocket-convert (--tokenizer, --audio-frontend): reads
// the tokenizer's own files into a format::TokenizerDesc the writer embeds in the .pocket file.
//   wordpiece      BERT vocab.txt (one token per line; roles unk/cls/sep/pad/mask)
//   bytelevel_bpe  GPT-2 style vocab.json ({"token": id}) and optional merges.txt
//   whisper        openai-whisper *.tiktoken (read_whisper_vocab, converter/metadata/whisper_vocab.h)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "converter/ir/graph.h"
#include "engine/status.h"
#include "format/builder.h"

namespace pocket::converter {

struct TokenizerFileOptions {
  std::string path;          // vocab.txt, vocab.json or *.tiktoken
  std::string kind;          // "wordpiece", "bytelevel_bpe", "whisper"; "" = from the file name
  std::string merges_path;   // bytelevel_bpe only (optional)
  bool lowercase = true;     // wordpiece: false for cased models (also turns accent stripping off)
  int64_t max_length = 0;    // 0: the model's position count when visible, else 512
};

// "wordpiece" for *.txt, "bytelevel_bpe" for *.json, "whisper" for *.tiktoken; error otherwise.
Result<std::string> tokenizer_kind_for_file(const std::string& path);

// BERT vocab.txt -> kind "wordpiece" with the special-token roles; fails when [UNK], [CLS], [SEP]
// or [PAD] is missing (and on every vocab.txt problem, see engine/pipelines/text/vocab_file.h).
Status read_wordpiece_vocab(const std::string& path, bool lowercase, format::TokenizerDesc* out);
// GPT-2 style vocab.json (ids 0..N-1, each once) and merges.txt ("a b" per line, an optional
// "#version" first line) -> kind "bytelevel_bpe". merges_path may be empty.
Status read_bytelevel_bpe(const std::string& vocab_json, const std::string& merges_path, format::TokenizerDesc* out);
// Same from the files' contents (merges_text null: no merges file); the names only label errors.
Status parse_bytelevel_bpe(std::string_view vocab_json_text, const std::string_view* merges_text,
                           const std::string& vocab_json, const std::string& merges_path, format::TokenizerDesc* out);

// What the graph says (0 when it does not tell): rows of a constant position-embedding table
// read by a Gather, rows of the embedding table a Gather indexes with a graph input, and the
// last dimension of a graph output named "logits".
int64_t model_max_positions(const ir::Graph& graph);
int64_t model_embedding_rows(const ir::Graph& graph);
int64_t model_logits_size(const ir::Graph& graph);

// Reads the files options name and checks them against the graph. notes gets one line saying
// what was embedded.
Status load_tokenizer(const TokenizerFileOptions& options, const ir::Graph& graph, format::TokenizerDesc* out,
                      std::vector<std::string>* notes);

// "whisper" or "whisper:N_MELS" (N_MELS 80 or 128) -> openai-whisper's log-mel front end.
Status parse_audio_frontend(const std::string& spec, format::AudioDesc* out);

}  // namespace pocket::converter
