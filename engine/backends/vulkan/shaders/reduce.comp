// ReduceSum / Mean / Max / Min / Prod / L2 (and the noop copy) over any set of axes. The host
// collapses the input into alternating kept and reduced groups (size-1 dims dropped, neighbours
// with the same role merged): an output index walks the kept groups, a reduction index the reduced
// ones (each at most 4 groups, innermost first in the push constants). `tpr` invocations (a power
// of two <= 128) share one output: each folds every tpr-th reduced element, then a shared-memory
// tree combines the partials. lane_major = 0 (the innermost group is reduced, rows are
// contiguous): adjacent invocations read adjacent elements of one row; lane_major = 1 (a kept
// group is innermost, e.g. a mean over axis 1 of [N, C, HW]): adjacent invocations own adjacent
// outputs, so with tpr = 1 every load of a step is contiguous across the workgroup.
// Accumulation is fp32 in both storage modes. Max/Min propagate NaN exactly as the CPU kernels do
// (a NaN anywhere in the reduction gives NaN; an empty reduction gives -inf / +inf).
// Few outputs with long reductions run in two dispatches: `splits` chunks of `chunk` reduced
// elements per output fold into fp32 partials (dst_partial), then a second dispatch combines the
// partials of each output (src_partial) and finishes (mean scale, L2 square root).
// Bindings: 0 X, 1 Y, 2 fp32 partials (any buffer when unused).
// Workgroups: ceil(outputs / (128 / tpr)), split over x and y.
#version 450
#include "common.glsl"

#define WG 128
layout(local_size_x = WG) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { STORE y[]; };
layout(std430, set = 0, binding = 2) buffer Q { float partial[]; };

#define OP_SUM 0
#define OP_SQ 1   // sum of squares (L2)
#define OP_MAX 2
#define OP_MIN 3
#define OP_PROD 4
#define OP_COPY 5

#define FINISH_NONE 0
#define FINISH_SCALE 1
#define FINISH_SQRT 2

layout(push_constant) uniform P {
  uint outputs;      // outputs of this dispatch (output elements x splits)
  uint count;        // reduced elements per output
  uint tpr;          // invocations per output (power of two, <= WG)
  uint lane_major;   // 1: invocation t = lane * (WG / tpr) + output-in-group
  uint op;           // how loaded elements fold (OP_*)
  uint finish;       // FINISH_*
  float scale;       // FINISH_SCALE: 1 / count of the whole reduction
  uint splits;       // chunks per output (1: one dispatch)
  uint chunk;        // reduced elements per chunk
  uint src_partial;  // 1: read the fp32 partials (binding 2) instead of X
  uint dst_partial;  // 1: write fp32 partials (binding 2) instead of Y
  uint nk;           // kept groups (<= 4)
  uint nr;           // reduced groups (<= 4)
  uint kdim[4];      // innermost first
  uint kstride[4];   // element strides in the source
  uint rdim[4];
  uint rstride[4];
} p;

shared float red[WG];

float identity_of(uint op) {
  if (op == OP_MAX) return uintBitsToFloat(0xff800000u);  // -inf
  if (op == OP_MIN) return uintBitsToFloat(0x7f800000u);  // +inf
  if (op == OP_PROD) return 1.0;
  return 0.0;
}

// Combining loaded values and partial results; a NaN operand of Max/Min is the result (a + b).
float combine(uint op, float a, float b) {
  if (op == OP_MAX || op == OP_MIN) {
    if (isnan(a) || isnan(b)) return a + b;
    return op == OP_MAX ? max(a, b) : min(a, b);
  }
  if (op == OP_PROD) return a * b;
  return a + b;
}

uint kept_offset(uint o) {
  uint off = 0;
  for (uint i = 0; i < 4; ++i) {
    if (i >= p.nk) break;
    off += (o % p.kdim[i]) * p.kstride[i];
    o /= p.kdim[i];
  }
  return off;
}

uint reduced_offset(uint j) {
  if (p.nr == 1) return j * p.rstride[0];
  uint off = 0;
  for (uint i = 0; i < 4; ++i) {
    if (i >= p.nr) break;
    off += (j % p.rdim[i]) * p.rstride[i];
    j /= p.rdim[i];
  }
  return off;
}

float load(uint i) { return p.src_partial != 0 ? partial[i] : LOAD(x[i]); }

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint per_group = WG / p.tpr;
  uint slot, lane;
  if (p.lane_major != 0) {
    lane = t / per_group;
    slot = t % per_group;
  } else {
    slot = t / p.tpr;
    lane = t % p.tpr;
  }
  const uint o = group * per_group + slot;
  const bool valid = o < p.outputs;
  const uint op = p.op;

  float acc = identity_of(op);
  if (valid) {
    const uint base = kept_offset(o / p.splits);
    const uint begin = (o % p.splits) * p.chunk;
    const uint end = min(p.count, begin + p.chunk);
    if (op == OP_COPY) {
      acc = load(base);
    } else if (op == OP_MAX || op == OP_MIN) {
      for (uint j = begin + lane; j < end; j += p.tpr) acc = combine(op, acc, load(base + reduced_offset(j)));
    } else if (op == OP_PROD) {
      for (uint j = begin + lane; j < end; j += p.tpr) acc *= load(base + reduced_offset(j));
    } else if (op == OP_SQ) {
      for (uint j = begin + lane; j < end; j += p.tpr) {
        const float v = load(base + reduced_offset(j));
        acc += v * v;
      }
    } else {
      for (uint j = begin + lane; j < end; j += p.tpr) acc += load(base + reduced_offset(j));
    }
  }

  if (p.tpr > 1) {  // uniform: every invocation reaches each barrier
    const uint at = slot * p.tpr;
    red[at + lane] = acc;
    barrier();
    for (uint s = p.tpr / 2; s > 0; s >>= 1) {
      if (lane < s) red[at + lane] = combine(op, red[at + lane], red[at + lane + s]);
      barrier();
    }
    acc = red[at];
  }

  if (valid && lane == 0) {
    if (p.dst_partial != 0) {
      partial[o] = acc;
    } else {
      if (p.finish == FINISH_SCALE) acc *= p.scale;
      else if (p.finish == FINISH_SQRT) acc = sqrt(acc);
      y[o] = TOSTORE(acc);
    }
  }
}
