// The tiling driver shared by every attention variant: plan, work split and the per-tile loop.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

#include "kernels/attention/attention_f32.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kKeyBlock = 128;
constexpr int64_t kTileRegisterBlocks = 8;
// Largest packed K + copied V a slot keeps for one head (then each head is packed once per thread).
constexpr int64_t kKeptHeadBytes = int64_t{1} << 20;

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Offsets (in floats) of the parts of one slot.
// A slot starts with a header naming the head whose blocks it holds.
struct SlotHeader {
  int64_t b, kvh, blocks;  // blocks [0, blocks) of head (b, kvh) are packed
};
constexpr int64_t kHeaderFloats = 16;
static_assert(sizeof(SlotHeader) <= kHeaderFloats * sizeof(float));

struct SlotLayout {
  int64_t packed, vpack, s, acc, m, l, alpha, total;
  int64_t ld_s, ld_acc, ld_v;
};

SlotLayout slot_layout(const AttentionF32Plan& plan, const AttentionF32Problem& p) {
  SlotLayout s{};
  s.ld_s = plan.k_block;
  s.ld_acc = round_up(std::max<int64_t>(p.dv, 1), 16);
  s.ld_v = round_up(std::max<int64_t>(p.dv, 1), 16);
  int64_t at = kHeaderFloats;
  auto take = [&at](int64_t floats) {
    const int64_t o = at;
    at += round_up(std::max<int64_t>(floats, 1), 16);
    return o;
  };
  s.packed = take(plan.kept_blocks * plan.k_block * p.d);
  s.vpack = take(plan.kept_blocks * plan.k_block * s.ld_v);
  s.s = take(plan.q_tile * s.ld_s);
  s.acc = take(plan.q_tile * s.ld_acc);
  s.m = take(plan.q_tile);
  s.l = take(plan.q_tile);
  s.alpha = take(plan.q_tile);
  s.total = at;
  return s;
}

struct Runner {
  const AttentionF32Kernel* kernel;
  const AttentionF32Problem* p;
  const AttentionF32Plan* plan;
  SlotLayout layout;
  char* scratch;
  int64_t q_tiles, units;
  std::atomic<int64_t> next{0};

  void run_unit(int64_t u, float* slot) const {
    const AttentionF32Problem& P = *p;
    const int64_t t = u % q_tiles, h = (u / q_tiles) % P.heads, b = u / (q_tiles * P.heads);
    const int64_t i0 = t * plan->q_tile, rows = std::min(plan->q_tile, P.sq - i0);
    const int64_t kvh = h / (P.heads / P.kv_heads);
    const float* q = P.q + (b * P.sq + i0) * P.q_row() + h * P.d;
    const float* k = P.k + b * P.sk * P.k_row() + kvh * P.d;
    const float* v = P.v + b * P.sk * P.v_row() + kvh * P.dv;
    SlotHeader* header = reinterpret_cast<SlotHeader*>(slot);
    if (header->b != b || header->kvh != kvh) *header = SlotHeader{b, kvh, 0};
    const bool keep = plan->kept_blocks > 1;
    const bool direct = rows <= 2 && kernel->scores_direct != nullptr;
    float* s = slot + layout.s;
    float* acc = slot + layout.acc;
    float* m = slot + layout.m;
    float* l = slot + layout.l;
    float* alpha = slot + layout.alpha;
    std::fill(m, m + rows, -std::numeric_limits<float>::infinity());
    std::fill(l, l + rows, 0.f);
    std::fill(acc, acc + rows * layout.ld_acc, 0.f);

    // Causal: the tile's last row sees keys up to i0 + rows - 1 + sk - sq; later blocks are skipped.
    const int64_t shift = P.sk - P.sq;
    int64_t key_end = P.sk;
    if (P.causal) key_end = std::clamp<int64_t>(i0 + rows + shift, 0, P.sk);

    AttentionRowMask mask;
    mask.kind = P.mask_kind;
    mask.fill = P.mask_fill;
    mask.stride = P.mask_strides[3];
    const size_t mask_elem = P.mask_kind == AttentionMask::Bool ? 1 : sizeof(float);
    const int64_t mask_base = b * P.mask_strides[0] + h * P.mask_strides[1] + i0 * P.mask_strides[2];

    for (int64_t j0 = 0; j0 < key_end; j0 += plan->k_block) {
      const int64_t nk = std::min(plan->k_block, key_end - j0);
      // Blocks of a kept head are packed whole (k_block keys, or up to sk) once per slot.
      const int64_t block = j0 / plan->k_block;
      const int64_t nk_pack = keep ? std::min(plan->k_block, P.sk - j0) : nk;
      float* packed = slot + layout.packed + (keep ? block * plan->k_block * P.d : 0);
      float* vpack = slot + layout.vpack + (keep ? block * plan->k_block * layout.ld_v : 0);
      const bool fresh = !keep || block >= header->blocks;
      if (direct) {
        kernel->scores_direct(q, P.q_row(), rows, k + j0 * P.k_row(), P.k_row(), nk, P.d, s, layout.ld_s);
      } else {
        if (fresh) kernel->pack_k(k + j0 * P.k_row(), P.k_row(), nk_pack, P.d, packed);
        kernel->scores(q, P.q_row(), rows, packed, nk, P.d, s, layout.ld_s);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t n_valid = P.causal ? std::clamp<int64_t>(i0 + r + shift + 1 - j0, 0, nk) : nk;
        if (P.mask_kind != AttentionMask::None)
          mask.ptr = static_cast<const char*>(P.mask) +
                     (mask_base + r * P.mask_strides[2] + j0 * P.mask_strides[3]) * static_cast<int64_t>(mask_elem);
        alpha[r] = kernel->softmax_step(s + r * layout.ld_s, nk, n_valid, P.scale, mask, m + r, l + r);
      }
      // Rows of V are H*Dv apart; a block of them would fall into a few L1 sets (rows 3 KiB apart
      // for 12 heads of 64): copy the block to consecutive rows first.
      const float* vb = v + j0 * P.v_row();
      int64_t v_stride = P.v_row();
      if (v_stride != P.dv && !direct) {
        if (fresh)
          for (int64_t j = 0; j < nk_pack; ++j)
            std::memcpy(vpack + j * layout.ld_v, vb + j * v_stride, P.dv * sizeof(float));
        vb = vpack;
        v_stride = layout.ld_v;
      }
      if (keep && fresh) header->blocks = block + 1;
      kernel->pv(s, layout.ld_s, rows, nk, vb, v_stride, P.dv, alpha, acc, layout.ld_acc);
    }

    float* out = P.out + (b * P.sq + i0) * P.out_row() + h * P.dv;
    for (int64_t r = 0; r < rows; ++r) {
      float* o = out + r * P.out_row();
      const float* a = acc + r * layout.ld_acc;
      if (l[r] > 0.f) {
        const float inv = 1.f / l[r];
        for (int64_t c = 0; c < P.dv; ++c) o[c] = a[c] * inv;
      } else {
        std::fill(o, o + P.dv, 0.f);
      }
    }
  }

  void run_task(int64_t task) {
    float* slot = reinterpret_cast<float*>(scratch) + task * layout.total;
    *reinterpret_cast<SlotHeader*>(slot) = SlotHeader{-1, -1, 0};  // inputs change between runs
    for (int64_t u = next.fetch_add(1, std::memory_order_relaxed); u < units;
         u = next.fetch_add(1, std::memory_order_relaxed))
      run_unit(u, slot);
  }
};

void run_task(void* context, size_t task) { static_cast<Runner*>(context)->run_task(static_cast<int64_t>(task)); }

}  // namespace

AttentionF32Plan attention_f32_plan(const AttentionF32Kernel& kernel, const AttentionF32Problem& p, int threads) {
  AttentionF32Plan plan;
  threads = std::max(threads, 1);
  const int64_t sq = std::max<int64_t>(p.sq, 1);
  plan.q_tile = std::min(kernel.mr * kTileRegisterBlocks, sq);
  // Enough units for every thread: smaller tiles (down to one register block) when batch x heads
  // is small.
  auto units = [&] { return p.batch * p.heads * ceil_div(sq, plan.q_tile); };
  while (threads > 1 && units() < 2 * threads && plan.q_tile > kernel.mr)
    plan.q_tile = std::max(kernel.mr, round_up(plan.q_tile / 2, kernel.mr));
  plan.k_block = std::min(kKeyBlock, round_up(std::max<int64_t>(p.sk, 1), kernel.nr));
  const int64_t blocks = ceil_div(std::max<int64_t>(p.sk, 1), plan.k_block);
  const int64_t head_bytes = blocks * plan.k_block * (p.d + round_up(std::max<int64_t>(p.dv, 1), 16)) * 4;
  // Worth keeping when a thread runs several query tiles of one head.
  if (ceil_div(sq, plan.q_tile) > 1 && head_bytes <= kKeptHeadBytes) plan.kept_blocks = blocks;
  plan.slots = std::max<int64_t>(1, std::min<int64_t>(threads, units()));
  plan.slot_bytes = static_cast<size_t>(slot_layout(plan, p).total) * sizeof(float);
  return plan;
}

void attention_f32(const AttentionF32Kernel& kernel, const AttentionF32Problem& p, const AttentionF32Plan& plan,
                   void* scratch, pthreadpool_t pool) {
  if (p.batch <= 0 || p.heads <= 0 || p.sq <= 0 || p.dv <= 0) return;
  Runner runner;
  runner.kernel = &kernel;
  runner.p = &p;
  runner.plan = &plan;
  runner.layout = slot_layout(plan, p);
  runner.scratch = static_cast<char*>(scratch);
  runner.q_tiles = ceil_div(p.sq, plan.q_tile);
  runner.units = p.batch * p.heads * runner.q_tiles;
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  const int64_t tasks = std::min({plan.slots, threads, runner.units});
  if (tasks <= 1) {
    runner.run_task(0);
    return;
  }
  pthreadpool_parallelize_1d(pool, &run_task, &runner, static_cast<size_t>(tasks), 0);
}

}  // namespace pocket::kernels
