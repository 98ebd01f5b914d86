// PLACEHOLDER until the QDQ helper lands (issue #5): replaced by the real pass.
#include "converter/passes/passes.h"
namespace pocket::converter {
Status fold_qdq(ir::Graph& g, std::vector<std::string>* notes) { (void)g; (void)notes; return Status::Ok(); }
}  // namespace pocket::converter
