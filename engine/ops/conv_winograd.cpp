// 3x3 stride-1 Conv by Winograd: Pocket's kernels of kernels/conv/. Not written yet.
#include "engine/ops/conv_impl.h"

namespace pocket {

namespace {
bool wino_supports(const ConvDesc&) { return false; }
std::unique_ptr<ConvImpl> wino_create(const ConvDesc&) { return nullptr; }
}  // namespace

const ConvCandidate kConvWinograd = {"pocket.winograd", wino_supports, wino_create};

}  // namespace pocket
