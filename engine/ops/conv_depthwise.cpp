// Depthwise Conv (group == C == M): Pocket's kernels of kernels/conv/. Not written yet.
#include "engine/ops/conv_impl.h"

namespace pocket {

namespace {
bool dw_supports(const ConvDesc&) { return false; }
std::unique_ptr<ConvImpl> dw_create(const ConvDesc&) { return nullptr; }
}  // namespace

const ConvCandidate kConvDepthwise = {"pocket.depthwise", dw_supports, dw_create};

}  // namespace pocket
