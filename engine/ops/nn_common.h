// Shared pieces of the NN ops (conv, pooling, gemm): attribute parsing for windows and fused
// activations, and an owning handle for XNNPACK operators.
#pragma once

#include <xnnpack.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/op.h"
#include "kernels/activation/activation_f32.h"

namespace pocket {

// Owns one XNNPACK operator.
class XnnOp {
 public:
  XnnOp() = default;
  ~XnnOp() { reset(); }
  XnnOp(const XnnOp&) = delete;
  XnnOp& operator=(const XnnOp&) = delete;
  void reset() {
    if (op_) xnn_delete_operator(op_);
    op_ = nullptr;
  }
  xnn_operator_t* out() { reset(); return &op_; }
  xnn_operator_t get() const { return op_; }
  explicit operator bool() const { return op_ != nullptr; }

 private:
  xnn_operator_t op_ = nullptr;
};

// The fused activation of Conv/ConvTranspose/Gemm/MatMul. Relu and Clip become an output clamp
// [out_min, out_max]; the others run as an in-place pass (post) after the product.
struct FusedActivation {
  float out_min = -std::numeric_limits<float>::infinity();
  float out_max = std::numeric_limits<float>::infinity();
  kernels::ActivationParams post;  // kind None when the clamp covers it
  bool has_post() const { return post.kind != kernels::Activation::None; }
  // The activation as one in-place pass (clamp included), for paths that cannot fuse it.
  kernels::ActivationParams as_pass() const;
};

Status parse_activation(const OpContext& ctx, FusedActivation* act);

// A 2-D sliding window resolved against an input size: pads are final (auto_pad applied),
// pad_bottom/pad_right include nothing extra for ceil_mode (see extra_* for that).
struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_h = 0, out_w = 0;
  // Padding past pad_bottom/pad_right that the last ceil_mode window reaches (0 without ceil_mode).
  int64_t extra_bottom = 0, extra_right = 0;
};

// Reads strides, dilations, pads ([top, left, bottom, right]) and auto_pad, checks them, and
// computes the output size with the ONNX formulas (ceil_mode as PyTorch/ONNX Runtime: the last
// window must start inside the input or the leading padding).
Status resolve_window(const OpContext& ctx, int64_t in_h, int64_t in_w, int64_t kernel_h, int64_t kernel_w,
                      bool ceil_mode, bool allow_dilation, Window2d* w);

// ConvTranspose's output size (ONNX): per spatial dim d, full = stride * (in - 1) + output_padding +
// dilation * (kernel - 1) + 1 and out = full - pad_begin - pad_end, with auto_pad SAME_UPPER /
// SAME_LOWER splitting max(0, full - in * stride) (the smaller half first / last) and VALID zero
// pads. pads ([top, left, bottom, right]) are read and made final. strides, dilations and
// output_padding have 2 entries and pads 4 (the caller checks). Returns "" or what is wrong: an
// unknown auto_pad, or a size beyond the bounds that keep the arithmetic inside int64 (input
// extent 2^31; kernel, stride, dilation, pads 2^30).
std::string conv_transpose_output(const int64_t in[2], const int64_t kernel[2], const std::vector<int64_t>& strides,
                           const std::vector<int64_t>& dilations, const std::vector<int64_t>& output_padding,
                           const std::string& auto_pad, std::vector<int64_t>* pads, int64_t out[2]);

// Checks that input i exists, is f32 and has the given rank (-1: any); names the tensor on failure.
Status expect_f32(const OpContext& ctx, size_t i, int64_t rank, const char* role);

}  // namespace pocket
