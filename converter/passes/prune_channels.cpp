// PLACEHOLDER until the pruning helper lands (issue #5): replaced by the real pass.
#include "converter/passes/passes.h"
namespace pocket::converter {
Status prune_channels(ir::Graph& g, std::vector<std::string>* notes, int64_t* before, int64_t* after, int* removed) {
  (void)g; (void)notes; *before = 0; *after = 0; *removed = 0; return Status::Ok();
}
}  // namespace pocket::converter
