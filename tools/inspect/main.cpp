// pocket-inspect: what a .pocket file holds and what running it costs: metadata, inputs and
// outputs, op counts, parameters and FLOPs per op type, quantization, the memory plan of a
// session, and a Graphviz drawing of the graph (--dot).
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "tools/common/args.h"
#include "tools/common/random_fill.h"
#include "tools/common/tool_util.h"
#include "tools/inspect/dot.h"
#include "tools/inspect/summary.h"

namespace {

using pocket::tools::report_error;
constexpr const char* kTool = "pocket-inspect";

int inspect(int argc, char** argv) {
  std::vector<std::string> model_path, shape_specs;
  std::string dot_path;
  int64_t threads = 1;
  bool json = false;
  pocket::tools::ArgParser args(
      kTool, "MODEL.pocket [--input-shape NAME=DIMS ...] [--threads N] [--json] [--dot FILE|-]",
      "Prints what a .pocket file holds: format version and size, metadata (producer, task, preprocessing,\n"
      "labels, tokenizer, audio front end, properties), inputs and outputs (symbolic dims by name), op\n"
      "counts, parameters and FLOPs per op type, parameters by dtype, quantization, and the memory plan of\n"
      "a session (arena vs the liveness lower bound, packed weights and the rest). FLOPs and the plan come\n"
      "from a session created with the given input shapes (symbolic dims not given are 1).\n"
      "Exit code 0 when the model loads and a session can be created, 1 otherwise (the report is still\n"
      "printed when only the session fails), 2 for a bad command line.");
  args.positional("MODEL.pocket", &model_path, 1, false, "the model to inspect");
  args.repeated("--input-shape", "NAME=DIMS", &shape_specs,
                "prepare the session with input NAME of this shape, e.g. input_ids=1x128");
  args.option_int("--threads", "N", 1, 1024, &threads, "session threads (scratch sizes may depend on it; default 1)");
  args.flag("--json", &json, "print one JSON object instead of text");
  args.option("--dot", "FILE|-", &dot_path, "write a Graphviz drawing of the graph to FILE ('-': to stdout, instead of the report)");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }
  if (dot_path.empty())
    for (int i = 1; i < argc; ++i)
      if (std::string(argv[i]).rfind("--dot", 0) == 0) return report_error(kTool, "--dot needs a file name or '-'");

  pocket::SessionOptions options;
  options.num_threads = static_cast<int>(threads);
  std::string error;
  for (const std::string& spec : shape_specs) {
    std::string name;
    std::vector<int64_t> dims;
    if (!pocket::tools::parse_input_shape(spec, &name, &dims, &error)) return report_error(kTool, error);
    for (const auto& [given, shape] : options.input_shapes)
      if (given == name) return report_error(kTool, "--input-shape: input '" + name + "' is given twice");
    options.input_shapes.emplace_back(name, pocket::Shape(dims.begin(), dims.end()));
  }

  auto model = pocket::Model::load_file(model_path[0]);
  if (!model.ok()) return report_error(kTool, "cannot load model: " + model.status().message());
  pocket::tools::inspect::Summary summary = pocket::tools::inspect::summarize_model(*model.value(), model_path[0]);
  auto session = pocket::Session::create(model.value(), options);
  if (session.ok()) {
    pocket::tools::inspect::add_session(*session.value(), &summary);
  } else {
    summary.session_error = session.status().message();
  }

  if (dot_path == "-") {
    std::fputs(pocket::tools::inspect::dot_graph(summary).c_str(), stdout);
  } else {
    if (!dot_path.empty()) {
      std::ofstream f(dot_path, std::ios::binary | std::ios::trunc);
      f << pocket::tools::inspect::dot_graph(summary);
      f.close();
      if (!f) return report_error(kTool, "--dot: cannot write '" + dot_path + "'");
    }
    const std::string report =
        json ? pocket::tools::inspect::json_report(summary) + "\n" : pocket::tools::inspect::text_report(summary);
    std::fputs(report.c_str(), stdout);
  }
  std::fflush(stdout);
  if (!session.ok())
    return report_error(kTool, "cannot prepare a session for '" + model_path[0] + "': " + summary.session_error);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return inspect(argc, argv); });
}
