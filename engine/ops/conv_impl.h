// The ways to run a Conv. ConvOp (conv.cpp) validates the node and resolves its geometry into a
// ConvDesc, lists the candidate implementations that support it in its heuristic order, and
// creates only the one it picks (the first, or the one a tuner asked for by index). Every
// implementation computes
//   y = clamp(conv(x, W) + bias + residual, act.out_min, act.out_max)
// and ConvOp runs act.post (HardSwish, Sigmoid, ...) afterwards when there is one.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/nn_common.h"
#include "engine/status.h"
#include "engine/weight_cache.h"
#include "kernels/conv/conv2d_f32.h"

namespace pocket {

struct ConvDesc {
  // Geometry, bias and output clamp (p.out_min/out_max = act.out_min/out_max). p.weights points
  // at weights_ohwi below; p.bias at the model's bias or nullptr.
  kernels::Conv2dF32Params p;
  Window2d win;                       // pads as resolved (incl. pad_bottom/pad_right)
  const float* weights_oihw = nullptr;   // the model's constant, ONNX layout [M][C/g][kH][kW]
  const float* weights_ohwi = nullptr;   // the same, [M][kH][kW][C/g]; valid only during create()
  const float* bias = nullptr;           // [M] or nullptr; lives as long as the model
  FusedActivation act;
  bool residual = false;              // input 3, shaped like Y, is added before the clamp
  int num_threads = 1;
  // Packed weights shared between sessions of one model: impls call
  // weight_cache->get_or_pack(cache_key + "/" + their name, ...) when weight_cache is set,
  // else pack into a buffer of their own. cache_key names the node and its shapes.
  WeightCache* weight_cache = nullptr;
  std::string cache_key;

  bool depthwise() const { return p.groups > 1 && p.groups == p.in_c && p.out_c == p.in_c; }
  bool pointwise() const {
    return p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
           p.pad_left == 0 && win.pad_bottom == 0 && win.pad_right == 0 && p.groups == 1;
  }
};

class ConvImpl {
 public:
  virtual ~ConvImpl() = default;
  // For profiles: family, kernel and ISA, e.g. "pocket.dwconv3x3.avx2", "xnnpack.conv2d".
  virtual std::string name() const = 0;
  // Arena scratch run() needs (64-byte aligned); asked once after create().
  virtual size_t scratch_bytes() const { return 0; }
  // Heap bytes held outside the arena and the weight cache (Op::private_bytes()); XNNPACK's own
  // allocations are counted by the session, not here.
  virtual size_t private_bytes() const { return 0; }
  // Pointers are final (XNNPACK's setup goes here). x: [N,H,W,C], y: [N,OH,OW,M].
  virtual Status bind(const float* x, float* y, pthreadpool_t pool) { return Status::Ok(); }
  // residual is non-null exactly when desc.residual. Cannot fail, never allocates.
  virtual void run(const float* x, const float* residual, float* y, void* scratch, pthreadpool_t pool) = 0;
};

// One candidate family. supports() is cheap (no packing); create() packs weights and may still
// return nullptr (e.g. XNNPACK refused the shape), in which case ConvOp takes the next candidate.
struct ConvCandidate {
  const char* family;  // stable name stored in tuning files: "pocket.depthwise", "xnnpack", ...
  bool (*supports)(const ConvDesc& d);
  std::unique_ptr<ConvImpl> (*create)(const ConvDesc& d);
};

// Families, one file each.
extern const ConvCandidate kConvDepthwise;  // conv_depthwise.cpp: depthwise 3x3/5x5, stride 1/2
extern const ConvCandidate kConvGemm;       // conv_gemm.cpp: 1x1 as packed GEMM, others indirect
extern const ConvCandidate kConvWinograd;   // conv_winograd.cpp: 3x3 stride 1
extern const ConvCandidate kConvXnnpack;    // conv_fallback.cpp: XNNPACK convolution2d_nhwc_f32
extern const ConvCandidate kConvDirect;     // conv_fallback.cpp: the scalar reference, any shape

// y[i] = clamp(y[i] + r[i], lo, hi): for implementations that cannot fuse the residual.
void conv_add_residual_clamp(float* y, const float* r, size_t n, float lo, float hi, pthreadpool_t pool);

}  // namespace pocket
