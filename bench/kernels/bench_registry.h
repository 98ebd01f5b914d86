// Registration entry points of the kernel benchmark families (called from main before the run,
// because the variants to benchmark depend on the CPU).
#pragma once

namespace pocket::bench {

void register_gemm_benchmarks();
void register_elementwise_benchmarks();

}  // namespace pocket::bench
