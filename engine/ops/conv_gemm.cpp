// Dense Conv: 1x1 as packed GEMM, other shapes indirect: Pocket's kernels of kernels/conv/. Not written yet.
#include "engine/ops/conv_impl.h"

namespace pocket {

namespace {
bool gemm_supports(const ConvDesc&) { return false; }
std::unique_ptr<ConvImpl> gemm_create(const ConvDesc&) { return nullptr; }
}  // namespace

const ConvCandidate kConvGemm = {"pocket.gemm", gemm_supports, gemm_create};

}  // namespace pocket
