// pocket-sentiment: text classification (DistilBERT SST-2 and other BERT-style classifiers) with
// a .pocket model that carries its WordPiece tokenizer (pocket-convert --tokenizer vocab.txt).
// Runs through the public C API only (pocket/pocket_text.h).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "pocket/pocket_text.h"
#include "tools/common/args.h"
#include "tools/common/tool_util.h"

namespace {

using pocket::tools::json_string;
using pocket::tools::report_error;
constexpr const char* kTool = "pocket-sentiment";

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

static int tool_main(int argc, char** argv) {
  std::vector<std::string> model_path, texts;
  int64_t threads = 1, max_length = 0, top = 1;
  bool json = false, verbose = false;
  pocket::tools::ArgParser args(
      kTool, "MODEL.pocket TEXT... [--top K] [--threads N] [--max-length N] [--json] [--verbose]",
      "Classifies texts (e.g. sentiment with DistilBERT SST-2) and prints the label and its probability.\n"
      "The model must carry its WordPiece tokenizer (pocket-convert ... --tokenizer vocab.txt --labels\n"
      "labels.txt); it takes input_ids [and attention_mask, token_type_ids] and gives logits [1, classes].\n"
      "Texts are UTF-8 (invalid bytes are replaced and dropped); longer texts are truncated to the\n"
      "model's maximum length.");
  args.positional("MODEL.pocket", &model_path, 1, false, "the classifier, with tokenizer metadata");
  args.positional("TEXT", &texts, 1, true, "one or more texts (quote each)");
  args.option_int("--top", "K", 1, 1000000, &top, "how many classes to print per text (default 1)");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  args.option_int("--max-length", "N", 2, 1 << 24, &max_length,
                  "longest token sequence, [CLS] and [SEP] included (default: the model's)");
  args.flag("--json", &json, "one JSON object per text");
  args.flag("--verbose", &verbose, "also print the tokens, their ids and the time per text");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }

  pocket_text_classifier_options options;
  pocket_text_classifier_options_init(&options);
  options.num_threads = static_cast<int32_t>(threads);
  options.max_length = static_cast<int32_t>(max_length);
  pocket_text_classifier* classifier = nullptr;
  if (pocket_text_classifier_create(model_path[0].c_str(), &options, &classifier) != POCKET_OK)
    return report_error(kTool, "cannot use '" + model_path[0] + "' as a text classifier: " + pocket_text_last_error());
  const pocket_text_tokenizer* tokenizer = pocket_text_classifier_tokenizer(classifier);

  int rc = 0;
  for (const std::string& text : texts) {
    pocket_text_result r;
    const double t0 = pocket::tools::now_ms();
    if (pocket_text_classify(classifier, text.data(), text.size(), &r) != POCKET_OK) {
      rc = report_error(kTool, std::string("cannot classify the text: ") + pocket_text_last_error());
      break;
    }
    const double ms = pocket::tools::now_ms() - t0;
    std::vector<size_t> order(r.num_classes);
    std::iota(order.begin(), order.end(), size_t{0});
    const size_t k = std::min<size_t>(static_cast<size_t>(top), r.num_classes);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), [&](size_t a, size_t b) {
      return r.probabilities[a] > r.probabilities[b] || (r.probabilities[a] == r.probabilities[b] && a < b);
    });
    if (r.truncated > 0)
      std::fprintf(stderr, "%s: note: text truncated to %zu tokens (%lld word pieces dropped)\n", kTool, r.num_real_tokens,
                   static_cast<long long>(r.truncated));
    if (r.invalid_utf8 > 0)
      std::fprintf(stderr, "%s: note: %lld invalid UTF-8 sequence(s) in the text were dropped\n", kTool,
                   static_cast<long long>(r.invalid_utf8));

    if (json) {
      std::string s = "{\"text\":" + json_string(text) + ",\"label\":" + json_string(r.label) +
                      ",\"index\":" + std::to_string(r.index) + ",\"probability\":" + fmt("%.6f", r.probability) + ",\"top\":[";
      for (size_t i = 0; i < k; ++i) {
        const size_t c = order[i];
        s += std::string(i ? "," : "") + "{\"label\":" + json_string(pocket_text_classifier_label(classifier, c)) +
             ",\"index\":" + std::to_string(c) + ",\"probability\":" + fmt("%.6f", r.probabilities[c]) +
             ",\"logit\":" + fmt("%.6g", r.logits[c]) + "}";
      }
      s += "],\"tokens\":" + std::to_string(r.num_real_tokens) + ",\"padded_tokens\":" + std::to_string(r.num_tokens) +
           ",\"truncated\":" + std::to_string(r.truncated) + ",\"invalid_utf8\":" + std::to_string(r.invalid_utf8) +
           ",\"ms\":" + fmt("%.3f", ms);
      if (verbose) {
        s += ",\"token_ids\":[";
        for (size_t i = 0; i < r.num_real_tokens; ++i) s += (i ? "," : "") + std::to_string(r.token_ids[i]);
        s += "],\"token_texts\":[";
        for (size_t i = 0; i < r.num_real_tokens; ++i)
          s += (i ? "," : "") + json_string(pocket_text_tokenizer_token(tokenizer, r.token_ids[i]));
        s += "]";
      }
      std::printf("%s}\n", s.c_str());
      continue;
    }
    if (texts.size() > 1) std::printf("%s\n", text.c_str());
    if (k == 1) {
      std::printf("%s%s %.4f\n", texts.size() > 1 ? "  " : "", r.label, r.probability);
    } else {
      for (size_t i = 0; i < k; ++i) {
        const size_t c = order[i];
        std::printf("  %2zu. %7.4f  %s (%zu)\n", i + 1, r.probabilities[c], pocket_text_classifier_label(classifier, c), c);
      }
    }
    if (verbose) {
      std::string toks, ids;
      for (size_t i = 0; i < r.num_real_tokens; ++i) {
        toks += std::string(i ? " " : "") + pocket_text_tokenizer_token(tokenizer, r.token_ids[i]);
        ids += (i ? " " : "") + std::to_string(r.token_ids[i]);
      }
      std::printf("  tokens (%zu%s): %s\n  ids: %s\n", r.num_real_tokens,
                  r.num_tokens > r.num_real_tokens ? (", padded to " + std::to_string(r.num_tokens)).c_str() : "",
                  toks.c_str(), ids.c_str());
      std::printf("  time: %.2f ms\n", ms);
    }
  }
  pocket_text_classifier_free(classifier);
  return rc;
}

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return tool_main(argc, argv); });
}
