// PLACEHOLDER until the quantization helper lands (issue #5): replaced by the real implementation.
#include "converter/quantize/quantize.h"
namespace pocket::converter::quantize {
Status quantize(ir::Graph& graph, const QuantizeOptions& options, QuantizeReport* report) {
  (void)graph; (void)options; (void)report;
  return Status(StatusCode::kUnsupported, "quantization is not built yet");
}
}  // namespace pocket::converter::quantize
