// numpy broadcasting over rank 6 (shapes padded on the left with 1s): output index i -> the
// element offsets of up to three operands from their per-dim strides (0 on a broadcast dim).
// Needs a push-constant block `p` with int dims[6] and the strides passed in.
void bcast_offsets2(uint i, int dims[6], int sa[6], int sb[6], out uint ia, out uint ib) {
  int r = int(i), oa = 0, ob = 0;
  for (int d = 5; d >= 0; --d) {
    int q = r / dims[d];
    int c = r - q * dims[d];
    r = q;
    oa += c * sa[d];
    ob += c * sb[d];
  }
  ia = uint(oa);
  ib = uint(ob);
}
