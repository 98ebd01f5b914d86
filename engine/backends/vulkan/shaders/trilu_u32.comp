// trilu.comp for 32-bit words (int32 and bool storage): keeps the elements of every rows x cols
// matrix with j - i >= k (upper) or j - i <= k (lower), 0 elsewhere.
// Bindings: 0 X, 1 Y. Workgroups: ceil(total / 128), split over x and y.
#version 450

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform P {
  uint total;
  uint rows;
  uint cols;
  uint upper;
  int k;
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  const int j = int(idx % p.cols);
  const int i = int((idx / p.cols) % p.rows);
  const bool keep = p.upper != 0 ? j - i >= p.k : j - i <= p.k;
  y[idx] = keep ? x[idx] : 0u;
}
