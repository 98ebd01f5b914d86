// pocket-convert: ONNX -> .pocket. Every error is one line on stderr ("pocket-convert: error: ...")
// and exit code 1 (usage) or 2 (conversion failed).
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/metadata/tokenizer_files.h"
#include "converter/passes/passes.h"

namespace {

using pocket::Status;
using namespace pocket::converter;

constexpr const char* kUsage =
    "usage: pocket-convert IN.onnx -o OUT.pocket [options]\n"
    "\n"
    "Converts an ONNX model (opset 6..17) into a .pocket file.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE          output .pocket file (required)\n"
    "  --labels FILE              class labels, one per line, stored in the metadata\n"
    "  --mean a,b,c               per-channel mean of the input normalisation\n"
    "  --std a,b,c                per-channel std of the input normalisation\n"
    "                             (values <= 1 mean [0,1] units: pixels are scaled by 1/255 first)\n"
    "  --input-size N|WxH         input image size stored in the metadata\n"
    "  --metadata key=value       free metadata property (repeatable; key 'task' sets the task)\n"
    "  --input-shape name=1,3,224,224\n"
    "                             fixes the shape of a (symbolic) input (repeatable)\n"
    "  --no-nhwc                  do not convert conv sub-graphs to NHWC (models without conv/pool)\n"
    "  --no-optimize              skip optional fusions (the passes the format needs always run)\n"
    "  --tokenizer FILE           embed a tokenizer for the text/speech pipelines: vocab.txt (BERT\n"
    "                             WordPiece), vocab.json (byte-level BPE) or *.tiktoken (Whisper)\n"
    "  --tokenizer-kind KIND      wordpiece | bytelevel_bpe | whisper (default: from the file name)\n"
    "  --merges FILE              merges.txt of a bytelevel_bpe tokenizer\n"
    "  --no-lowercase             wordpiece: cased model (no lower-casing, no accent stripping)\n"
    "  --max-length N             longest token sequence the model takes, special tokens included\n"
    "                             (default: the model's position count if visible, else 512)\n"
    "  --audio-frontend whisper[:N_MELS]\n"
    "                             embed Whisper's log-mel front end (80 mel bins unless 128 given)\n"
    "\n"
    "quantization and compression:\n"
    "  --precision P              fp32 (default) | fp16 (weights stored half: file ~0.5x) |\n"
    "                             int8-dynamic (int8 weights, activations quantized at run time) |\n"
    "                             int8 (static: int8 weights and activations; needs --calibration)\n"
    "  --calibration DIR          calibration set: .npy files or images (PNG/JPEG, preprocessed with\n"
    "                             --mean/--std/--input-size) in DIR; several inputs: one sub-folder\n"
    "                             per input name with the same file names\n"
    "  --calibration-method M     minmax (default) | percentile | entropy\n"
    "  --percentile P             percentile of |x| kept by --calibration-method percentile\n"
    "                             (0 < P <= 100, default 99.99)\n"
    "  --calibration-samples N    use the first N samples of the calibration set only\n"
    "  --keep-float X             keep node X (a name) or every node of op type X in float\n"
    "                             (repeatable, comma lists)\n"
    "  --max-error DB             accuracy budget: keep the most damaging layers float until the\n"
    "                             model's output SQNR vs fp32 on the calibration set reaches DB\n"
    "                             (int8, int8-dynamic; needs --calibration)\n"
    "  --report-json FILE         write the per-layer quantization report as JSON\n"
    "  --no-progress              no progress bars on stderr\n"
    "  --no-prune                 keep all-zero output channels (structured pruning is on by default)\n"
    "\n"
    "  -q, --quiet                print errors only\n"
    "  -h, --help                 this text\n";

struct UsageError {
  std::string msg;
};

// "pocket-convert: error: <message>" on one line (messages from libraries may hold newlines).
int report(const std::string& message, int code) {
  std::string one_line = message;
  for (char& c : one_line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "pocket-convert: error: " << one_line << "\n";
  return code;
}

bool parse_floats(const std::string& s, std::vector<float>* out) {
  out->clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) return false;
    char* end = nullptr;
    float v = std::strtof(item.c_str(), &end);
    if (!end || *end != '\0' || !std::isfinite(v)) return false;
    out->push_back(v);
  }
  return !out->empty() && s.back() != ',';
}

bool parse_ints(const std::string& s, std::vector<int64_t>* out) {
  out->clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) return false;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (!end || *end != '\0' || errno == ERANGE) return false;
    out->push_back(v);
  }
  return !out->empty() && s.back() != ',';
}

bool parse_size(const std::string& s, int64_t* w, int64_t* h) {
  auto x = s.find_first_of("xX");
  std::vector<int64_t> v;
  if (x == std::string::npos) {
    if (!parse_ints(s, &v) || v.size() != 1) return false;
    *w = *h = v[0];
  } else {
    std::vector<int64_t> a, b;
    if (!parse_ints(s.substr(0, x), &a) || !parse_ints(s.substr(x + 1), &b) || a.size() != 1 || b.size() != 1) return false;
    *w = a[0];
    *h = b[0];
  }
  return *w > 0 && *h > 0 && *w < (1 << 20) && *h < (1 << 20);
}

std::string histogram(const std::map<std::string, int>& h) {
  std::vector<std::pair<int, std::string>> v;
  int total = 0;
  for (const auto& [op, c] : h) {
    v.push_back({-c, op});
    total += c;
  }
  std::sort(v.begin(), v.end());
  std::string s = std::to_string(total) + " nodes:";
  for (const auto& [c, op] : v) s += " " + op + ":" + std::to_string(-c);
  return s;
}

std::string human_size(uint64_t b) {
  char buf[64];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / double(1ull << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(b));
  return buf;
}

struct Args {
  std::string in, out;
  bool quiet = false;
  ConvertOptions options;
  TokenizerFileOptions tokenizer;  // used when tokenizer.path is set
  bool tokenizer_flags = false;    // a tokenizer option other than --tokenizer was given
  std::string report_json;         // --report-json FILE
  bool calibration_flags = false;  // --calibration-method, --percentile or --calibration-samples given
};

double parse_number(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || !end || *end != '\0' || !std::isfinite(d)) throw UsageError{flag + ": expected a number, got '" + v + "'"};
  return d;
}

Args parse_args(int argc, char** argv) {
  Args a;
  auto need = [&](int& i, const std::string& flag) -> std::string {
    if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    std::string inline_value;
    bool has_inline = false;
    if (s.rfind("--", 0) == 0 && s.find('=') != std::string::npos &&
        s.rfind("--metadata", 0) != 0 && s.rfind("--input-shape", 0) != 0) {
      inline_value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      has_inline = true;
    }
    auto value = [&](const std::string& flag) { return has_inline ? inline_value : need(i, flag); };
    if (s == "-h" || s == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (s == "-o" || s == "--output") {
      a.out = value(s);
    } else if (s == "-q" || s == "--quiet") {
      a.quiet = true;
    } else if (s == "--no-nhwc") {
      a.options.nhwc = false;
    } else if (s == "--no-optimize") {
      a.options.optimize = false;
    } else if (s == "--tokenizer") {
      a.tokenizer.path = value(s);
    } else if (s == "--tokenizer-kind") {
      a.tokenizer.kind = value(s);
      if (a.tokenizer.kind != "wordpiece" && a.tokenizer.kind != "bytelevel_bpe" && a.tokenizer.kind != "whisper")
        throw UsageError{"--tokenizer-kind: expected wordpiece, bytelevel_bpe or whisper, got '" + a.tokenizer.kind + "'"};
      a.tokenizer_flags = true;
    } else if (s == "--merges") {
      a.tokenizer.merges_path = value(s);
      a.tokenizer_flags = true;
    } else if (s == "--no-lowercase") {
      a.tokenizer.lowercase = false;
      a.tokenizer_flags = true;
    } else if (s == "--max-length") {
      std::string v = value(s);
      std::vector<int64_t> n;
      if (!parse_ints(v, &n) || n.size() != 1 || n[0] < 2 || n[0] > (1 << 24))
        throw UsageError{"--max-length: expected an integer from 2 to 16777216, got '" + v + "'"};
      a.tokenizer.max_length = n[0];
      a.tokenizer_flags = true;
    } else if (s == "--audio-frontend") {
      std::string v = value(s);
      Status st = parse_audio_frontend(v, &a.options.audio);
      if (!st.ok()) throw UsageError{"--audio-frontend: " + st.message()};
      a.options.has_audio = true;
    } else if (s == "--labels") {
      std::string path = value(s);
      std::error_code ec;
      if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
        throw UsageError{"--labels: '" + path + "' is not a regular file"};
      std::ifstream f(path);
      if (!f) throw UsageError{"--labels: cannot open '" + path + "'"};
      std::string line;
      while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        a.options.labels.push_back(line);
      }
      while (!a.options.labels.empty() && a.options.labels.back().empty()) a.options.labels.pop_back();
      if (a.options.labels.empty()) throw UsageError{"--labels: '" + path + "' has no labels"};
    } else if (s == "--mean" || s == "--std") {
      std::string v = value(s);
      std::vector<float>& dst = s == "--mean" ? a.options.mean : a.options.std;
      if (!parse_floats(v, &dst)) throw UsageError{s + ": expected comma-separated numbers such as 0.485,0.456,0.406, got '" + v + "'"};
      if (s == "--std")
        for (float x : dst)
          if (x <= 0) throw UsageError{"--std: values must be positive, got '" + v + "'"};
    } else if (s == "--input-size") {
      std::string v = value(s);
      if (!parse_size(v, &a.options.input_width, &a.options.input_height))
        throw UsageError{"--input-size: expected N or WxH (e.g. 224 or 320x240), got '" + v + "'"};
    } else if (s == "--metadata" || s.rfind("--metadata=", 0) == 0) {
      std::string v = s == "--metadata" ? need(i, s) : s.substr(11);
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError{"--metadata: expected key=value, got '" + v + "'"};
      a.options.metadata.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (s == "--input-shape" || s.rfind("--input-shape=", 0) == 0) {
      std::string v = s == "--input-shape" ? need(i, s) : s.substr(14);
      auto eq = v.find('=');
      std::vector<int64_t> dims;
      if (eq == std::string::npos || eq == 0 || !parse_ints(v.substr(eq + 1), &dims))
        throw UsageError{"--input-shape: expected name=d0,d1,... (e.g. input=1,3,224,224), got '" + v + "'"};
      for (int64_t d : dims)
        if (d > (int64_t{1} << 40)) throw UsageError{"--input-shape: dimension " + std::to_string(d) + " is too large in '" + v + "'"};
      a.options.input_shapes[v.substr(0, eq)] = dims;
    } else if (s == "--precision") {
      std::string v = value(s);
      if (!quantize::parse_precision(v, &a.options.quant.precision))
        throw UsageError{"--precision: expected fp32, fp16, int8-dynamic or int8, got '" + v + "'"};
    } else if (s == "--calibration") {
      a.options.quant.calibration_dir = value(s);
    } else if (s == "--calibration-method") {
      std::string v = value(s);
      if (!quantize::parse_calibration_method(v, &a.options.quant.method))
        throw UsageError{"--calibration-method: expected minmax, percentile or entropy, got '" + v + "'"};
      a.calibration_flags = true;
    } else if (s == "--percentile") {
      std::string v = value(s);
      double p = parse_number(s, v);
      if (!(p > 0 && p <= 100)) throw UsageError{"--percentile: expected a value in (0, 100], got '" + v + "'"};
      a.options.quant.percentile = p;
      a.calibration_flags = true;
    } else if (s == "--calibration-samples") {
      std::string v = value(s);
      std::vector<int64_t> n;
      if (!parse_ints(v, &n) || n.size() != 1 || n[0] < 1 || n[0] > (1 << 30))
        throw UsageError{"--calibration-samples: expected a positive integer, got '" + v + "'"};
      a.options.quant.max_samples = static_cast<int>(n[0]);
      a.calibration_flags = true;
    } else if (s == "--keep-float") {
      std::string v = value(s);
      if (v.empty() || v[0] == '-') throw UsageError{"--keep-float needs a node name or op type"};
      a.options.quant.keep_float.push_back(v);
    } else if (s == "--max-error") {
      std::string v = value(s);
      double d = parse_number(s, v);
      if (!(d > 0)) throw UsageError{"--max-error: expected a positive SQNR in dB, got '" + v + "'"};
      a.options.quant.max_error_db = d;
    } else if (s == "--report-json") {
      a.report_json = value(s);
    } else if (s == "--no-progress") {
      a.options.quant.progress = false;
    } else if (s == "--no-prune") {
      a.options.prune = false;
    } else if (!s.empty() && s[0] == '-' && s != "-") {
      throw UsageError{"unknown option '" + s + "' (see --help)"};
    } else if (a.in.empty()) {
      a.in = s;
    } else {
      throw UsageError{"unexpected argument '" + s + "' (one input file only)"};
    }
  }
  if (a.in.empty()) throw UsageError{"no input .onnx file given (see --help)"};
  if (a.out.empty()) throw UsageError{"no output file given: use -o OUT.pocket"};
  if (a.tokenizer_flags && a.tokenizer.path.empty())
    throw UsageError{"--tokenizer-kind, --merges, --no-lowercase and --max-length need --tokenizer FILE"};
  if (!a.options.mean.empty() && !a.options.std.empty() && a.options.mean.size() != a.options.std.size())
    throw UsageError{"--mean has " + std::to_string(a.options.mean.size()) + " values but --std has " +
                     std::to_string(a.options.std.size())};
  const auto& q = a.options.quant;
  const bool int8 = q.precision == quantize::Precision::kInt8;
  const bool dyn = q.precision == quantize::Precision::kInt8Dynamic;
  if (int8 && q.calibration_dir.empty())
    throw UsageError{"--precision int8 needs a calibration set: --calibration DIR (.npy files or images)"};
  if (q.max_error_db > 0 && !int8 && !dyn)
    throw UsageError{"--max-error needs --precision int8 or int8-dynamic"};
  if (q.max_error_db > 0 && q.calibration_dir.empty())
    throw UsageError{"--max-error needs a calibration set to measure on: --calibration DIR"};
  if (!q.calibration_dir.empty() && !int8 && !dyn)
    throw UsageError{"--calibration needs --precision int8 or int8-dynamic"};
  if (a.calibration_flags && q.calibration_dir.empty())
    throw UsageError{"--calibration-method, --percentile and --calibration-samples need --calibration DIR"};
  if (!a.report_json.empty() && q.precision == quantize::Precision::kFp32)
    throw UsageError{"--report-json needs --precision fp16, int8-dynamic or int8"};
  if (!q.keep_float.empty() && q.precision == quantize::Precision::kFp32)
    throw UsageError{"--keep-float needs --precision fp16, int8-dynamic or int8"};
  if (!q.calibration_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(q.calibration_dir, ec))
      throw UsageError{"--calibration: '" + q.calibration_dir + "' is not a directory"};
  }
  return a;
}

int fail(const Status& st) { return report(st.message(), 2); }

int run(Args a) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  ConvertReport report;
  pocket::ir::Graph g;
  std::vector<std::string> notes;
  Status st = import_onnx_file(a.in, &g, &notes);
  if (!st.ok()) return fail(st);
  g.metadata.source = std::filesystem::path(a.in).filename().string();
  if (!a.tokenizer.path.empty()) {
    // Before the passes: the checks read embedding tables and outputs as the ONNX names them.
    st = load_tokenizer(a.tokenizer, g, &a.options.tokenizer, &notes);
    if (!st.ok()) return fail(Status(st.code(), "--tokenizer: " + st.message()));
    a.options.has_tokenizer = true;
  }
  if (a.options.has_audio)
    notes.push_back("audio front end: whisper log-mel, " + std::to_string(a.options.audio.n_mels) + " mel bins, " +
                    std::to_string(a.options.audio.sample_rate) + " Hz");
  report.ops_before = g.op_counts();
  report.notes = notes;
  st = optimize(g, a.options, &report);
  if (!st.ok()) return fail(st);
  const bool quantized = a.options.quant.precision != quantize::Precision::kFp32;
  if (quantized) {
    if (a.quiet) a.options.quant.progress = false;
    // Image calibration sets are preprocessed with the model's metadata, which the writer only
    // fills from --mean/--std/--input-size later: give the graph the same preprocessing now.
    pocket::format::MetadataDesc md = model_metadata(g, a.options);
    g.metadata.has_preprocessing = md.has_preprocessing;
    g.metadata.preprocessing = md.preprocessing;
    st = quantize::quantize(g, a.options.quant, &report.quant);
    if (!st.ok()) return fail(st);
    if (!a.report_json.empty()) {
      std::ofstream f(a.report_json, std::ios::binary);
      f << report.quant.json() << "\n";
      if (!f) return fail(Status(pocket::StatusCode::kIoError, "--report-json: cannot write '" + a.report_json + "'"));
    }
  }
  uint64_t bytes = 0;
  st = write_pocket_file(g, a.options, a.out, &bytes);
  if (!st.ok()) return fail(st);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& n : report.quant.notes)
    if (n.rfind("warning:", 0) == 0) std::cerr << "pocket-convert: " << n << "\n";
  if (!a.quiet) {
    std::cout << "input:   " << a.in << " (ONNX opset " << report.opset << ")\n";
    std::cout << "before:  " << histogram(report.ops_before) << "\n";
    std::cout << "after:   " << histogram(report.ops_after) << "\n";
    for (const auto& n : report.notes) std::cout << "note:    " << n << "\n";
    if (report.pruned_channels > 0)
      std::cout << "pruned:  " << report.pruned_channels << " channels, parameters " << report.params_before << " -> "
                << report.params_after << "\n";
    if (quantized) std::cout << report.quant.text();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f s", secs);
    std::cout << "output:  " << a.out << " (" << human_size(bytes) << ")\n";
    std::cout << "time:    " << buf << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse_args(argc, argv);
    return run(std::move(a));
  } catch (const UsageError& e) {
    return report(e.msg, 1);
  } catch (const std::bad_alloc&) {
    std::fputs("pocket-convert: error: out of memory\n", stderr);
    return 2;
  } catch (const std::exception& e) {
    return report(std::string("internal error: ") + e.what(), 2);
  } catch (...) {
    std::fputs("pocket-convert: error: internal error (unknown exception)\n", stderr);
    return 2;
  }
}
