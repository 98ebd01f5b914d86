#!/usr/bin/python3
"""Whole-model figures for every fixture model: Pocket vs ONNX Runtime 1.30, 1 and 2 threads.

  bench/models.py [--build build] [--models a,b,...] [--threads 1,2] [--rounds 5]
                  [--iterations 30] [--json OUT.json]

For each model of BUILD/fixtures/manifest.json (the torchvision fixtures that the test suite
exports) it runs bench/compare_ort.py (Pocket and ORT alternating in one run, on the fixture's
real-photo input), then prints one table:
  - median latency of each engine per thread count and the ratio Pocket / ORT (< 1: Pocket faster);
  - the fraction of the machine's FMA peak each engine reaches: model MACs x 2 / time / peak,
    where MACs are counted from the ONNX graph (Conv, ConvTranspose, Gemm, MatMul) and the peak
    is measured once by pocket_bench_kernels' built-in probe (1 core; x threads for 2 threads);
  - each engine's 2-thread speed-up.
Needs onnxruntime-node (scripts/ort_install.sh) and a Release build with the fixtures.
Timings on a shared 2-core machine are noisy: run it on a quiet machine and compare ratios.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def count_macs(onnx_path):
    """Multiply-accumulates of the Conv/ConvTranspose/Gemm/MatMul nodes, from inferred shapes."""
    import numpy as np  # noqa: F401  (onnx needs it)
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(onnx_path))
    g = model.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in t.shape.dim]
    for init in g.initializer:
        shapes[init.name] = list(numpy_helper.to_array(init).shape)

    def prod(v):
        r = 1
        for x in v:
            r *= x
        return r

    macs = 0
    for n in g.node:
        if n.op_type in ("Conv", "ConvTranspose"):
            w = shapes.get(n.input[1])
            y = shapes.get(n.output[0])
            x = shapes.get(n.input[0])
            if not w or not y or not x:
                continue
            if n.op_type == "Conv":
                macs += prod(y) * prod(w[1:])          # out elems x (C/g * kH * kW)
            else:
                macs += prod(x) * prod(w[1:])          # in elems x (M/g * kH * kW)
        elif n.op_type in ("Gemm", "MatMul"):
            a = shapes.get(n.input[0])
            y = shapes.get(n.output[0])
            if not a or not y:
                continue
            trans_a = any(at.name == "transA" and at.i for at in n.attribute)
            k = a[-2] if trans_a else a[-1]
            macs += prod(y) * k
    return macs


def measure_peak(build):
    exe = os.path.join(build, "bench", "pocket_bench_kernels")
    if not os.path.isfile(exe):
        sys.exit(f"models.py: {exe} is missing (google-benchmark not installed?)")
    best = 0.0
    for _ in range(3):
        p = subprocess.run([exe, "--benchmark_filter=^$"], capture_output=True, text=True)
        m = re.search(r"peak \(1 core[^)]*\): ([0-9.]+) GFLOP/s", p.stdout + p.stderr)
        if m:
            best = max(best, float(m.group(1)))
    if best <= 0:
        sys.exit("models.py: could not read the FMA peak from pocket_bench_kernels")
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--models", help="comma-separated subset of the manifest's model names")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    fixtures = os.path.join(a.build, "fixtures")
    manifest_path = os.path.join(fixtures, "manifest.json")
    if not os.path.isfile(manifest_path):
        sys.exit(f"models.py: {manifest_path} is missing: build and run the model tests first (scripts/test.sh)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    names = [m["name"] for m in manifest["models"]]
    if a.models:
        wanted = a.models.split(",")
        unknown = [w for w in wanted if w not in names]
        if unknown:
            sys.exit(f"models.py: unknown model(s) {unknown}; the manifest has {names}")
        names = wanted
    threads = [int(t) for t in a.threads.split(",")]

    peak = measure_peak(a.build)
    print(f"FMA peak (1 core, measured now): {peak:.1f} GFLOP/s", flush=True)
    rows = []
    for m in manifest["models"]:
        if m["name"] not in names:
            continue
        onnx_path = os.path.join(fixtures, m["onnx"])
        pocket_path = os.path.join(fixtures, m["name"] + ".pocket")
        input_arg = f"{m['input_name']}={os.path.join(fixtures, m['input'])}"
        macs = count_macs(onnx_path)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tf:
            out_json = tf.name
        cmd = [sys.executable, os.path.join(REPO, "bench", "compare_ort.py"), "--pocket", pocket_path, "--onnx",
               onnx_path, "--input", input_arg, "--threads", a.threads, "--rounds", str(a.rounds), "--iterations",
               str(a.iterations), "--build", a.build, "--json", out_json]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"models.py: compare_ort.py failed on {m['name']}: {(p.stdout + p.stderr).strip()[-800:]}")
        with open(out_json) as f:
            res = json.load(f)
        os.unlink(out_json)
        row = {"model": m["name"], "gmacs": macs / 1e9, "by_threads": {}}
        for r in res:
            t = r["threads"]
            pm, om = r["pocket_median_ms"], r["ort_median_ms"]
            flops = 2.0 * macs
            row["by_threads"][t] = {
                "pocket_ms": pm, "ort_ms": om, "pocket_over_ort": pm / om,
                "pocket_pct_peak": 100.0 * flops / (pm * 1e-3) / (peak * 1e9 * t),
                "ort_pct_peak": 100.0 * flops / (om * 1e-3) / (peak * 1e9 * t),
            }
        if 1 in row["by_threads"] and 2 in row["by_threads"]:
            one, two = row["by_threads"][1], row["by_threads"][2]
            row["pocket_speedup_2t"] = one["pocket_ms"] / two["pocket_ms"]
            row["ort_speedup_2t"] = one["ort_ms"] / two["ort_ms"]
        rows.append(row)
        print(f"  measured {m['name']}", flush=True)

    print()
    head = f"{'model':<20} {'GMAC':>6} {'thr':>3} {'Pocket ms':>10} {'ORT ms':>9} {'Pocket/ORT':>10} " \
           f"{'Pocket %peak':>12} {'ORT %peak':>9}"
    print(head)
    print("-" * len(head))
    for row in rows:
        for t in threads:
            b = row["by_threads"].get(t)
            if not b:
                continue
            print(f"{row['model']:<20} {row['gmacs']:>6.3f} {t:>3} {b['pocket_ms']:>10.2f} {b['ort_ms']:>9.2f} "
                  f"{b['pocket_over_ort']:>10.2f} {b['pocket_pct_peak']:>11.1f}% {b['ort_pct_peak']:>8.1f}%")
    if any("pocket_speedup_2t" in r for r in rows):
        print()
        print(f"{'model':<20} {'Pocket 2-thread speed-up':>25} {'ORT 2-thread speed-up':>22}")
        for row in rows:
            if "pocket_speedup_2t" in row:
                print(f"{row['model']:<20} {row['pocket_speedup_2t']:>24.2f}x {row['ort_speedup_2t']:>21.2f}x")
    print(f"\n(medians of {a.rounds} alternating rounds x {a.iterations} iterations; peak {peak:.1f} GFLOP/s per core)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peak_gflops_1core": peak, "models": rows}, f, indent=2)


if __name__ == "__main__":
    main()
