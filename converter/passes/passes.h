// One pass per file in converter/passes/. Each keeps the graph topologically sorted and keeps
// every value's dtype and shape correct (new values get their shapes set by the pass).
#pragma once

#include <string>
#include <vector>

#include "converter/ir/graph.h"
#include "engine/status.h"

namespace pocket::converter {

// Static shape and dtype inference over the whole graph (shape_inference.cpp).
Status infer_shapes(ir::Graph& g);
// Evaluates every node whose inputs are all constant, including the Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape sub-graphs PyTorch emits, ConstantOfShape and Expand
// (fold_constants.cpp).
Status fold_constants(ir::Graph& g, std::vector<std::string>* notes);
// Drops Identity and inference-mode Dropout (remove_identity.cpp).
Status remove_identity(ir::Graph& g, std::vector<std::string>* notes);
// Folds BatchNormalization into a preceding Conv/ConvTranspose/Gemm; rewrites any that remain as
// a per-channel Mul + Add (fold_batchnorm.cpp).
Status fold_batchnorm(ir::Graph& g, std::vector<std::string>* notes);
// Fuses Relu, Clip/Relu6, HardSigmoid, HardSwish (also x * HardSigmoid(x)), Sigmoid, SiLU
// (x * Sigmoid(x)), Tanh, LeakyRelu into the producing Conv/ConvTranspose/Gemm/MatMul, and Gelu
// (erf or tanh form) into a producing Gemm/MatMul (fuse_activations.cpp).
Status fuse_activations(ir::Graph& g, std::vector<std::string>* notes);
// Fuses Conv -> Add(conv_out, other) and MatMul -> Add(matmul_out, other) into the Conv/MatMul as
// its residual input R (fuse_residual.cpp); run after fuse_matmul_bias and before
// fuse_activations so that an activation after the Add joins the Conv/MatMul too.
Status fuse_residual(ir::Graph& g, std::vector<std::string>* notes);
// Moves operands that must be known ahead of time into attributes, lifts 1-D conv/pool to 2-D,
// maps old-opset forms to the format's semantics (normalize.cpp).
Status normalize(ir::Graph& g, std::vector<std::string>* notes);
// Makes Conv/ConvTranspose/pools/LRN channels-last and sinks or cancels the Transposes this
// creates; Flatten/Reshape/Concat/etc. keep their NCHW meaning (layout_nhwc.cpp).
Status convert_to_nhwc(ir::Graph& g, std::vector<std::string>* notes);
// Fuses the channels-last squeeze-excite block GlobalAveragePool -> Conv 1x1 -> Conv 1x1 ->
// Mul(x, gate) into one SqueezeExcite node (fuse_squeeze_excite.cpp); run after convert_to_nhwc.
Status fuse_squeeze_excite(ir::Graph& g, std::vector<std::string>* notes);

// Transformer passes, run in this order after fold_constants (shapes inferred):
// Rewrites 2-operand Einsum as [ReduceSum] Transpose / Reshape / MatMul / Reshape / Transpose; an
// Einsum it cannot rewrite stays (check_supported lists it) and a note names the node, its
// equation and the reason (rewrite_einsum.cpp).
Status rewrite_einsum(ir::Graph& g, std::vector<std::string>* notes);
// LayerNorm (PyTorch's opset < 17 decomposition) -> LayerNormalization, RMSNorm's decomposition
// -> RMSNormalization (fuse_layernorm.cpp).
Status fuse_layernorm(ir::Graph& g, std::vector<std::string>* notes);
// GELU's erf and tanh decompositions -> Gelu (fuse_gelu.cpp).
Status fuse_gelu(ir::Graph& g, std::vector<std::string>* notes);
// Multi-head attention (head split Reshape/Transpose, MatMul, scale, mask, Softmax, MatMul, head
// merge) -> Attention (fuse_attention.cpp).
Status fuse_attention(ir::Graph& g, std::vector<std::string>* notes);
// MatMul -> Add(constant [N] bias) -> MatMul with its bias input (fuse_matmul_bias.cpp).
Status fuse_matmul_bias(ir::Graph& g, std::vector<std::string>* notes);

// Quantization passes (issue #5).
// ONNX QDQ models: DequantizeLinear -> op -> QuantizeLinear around Conv/Gemm/MatMul/Add/pools
// (as quantization-aware training exports them) become the format's int8 ops with the given
// scales on their tensors; constant weights stored int8; u8 mapped to i8; remaining Q/DQ become
// the format's QuantizeLinear/DequantizeLinear (fold_qdq.cpp). Run before the fusion passes.
Status fold_qdq(ir::Graph& g, std::vector<std::string>* notes);
// Structured pruning: removes output channels whose weights (and bias, after BatchNorm folding)
// are all zero, with the matching input channels of every consumer, where the result is exactly
// the same; counts constant weight elements before and after (prune_channels.cpp).
Status prune_channels(ir::Graph& g, std::vector<std::string>* notes, int64_t* params_before,
                      int64_t* params_after, int* channels_removed);

}  // namespace pocket::converter
