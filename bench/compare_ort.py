#!/usr/bin/python3
"""Pocket vs ONNX Runtime on the same model and inputs, alternating in one run.

  bench/compare_ort.py --pocket M.pocket --onnx M.onnx [--input NAME=FILE.npy ...]
                       [--threads 1,2] [--rounds 3] [--iterations 30] [--warmup 5]
                       [--build build] [--json OUT.json]

For each thread count it runs `pocket-bench --json` and `node scripts/ort_bench.mjs` in turns
(--rounds times each, alternating so both see the same machine state), takes each engine's
median over rounds of the per-round median latency, and prints both and their ratio.
Timings on a shared 2-core machine are noisy: compare the ratio, not the absolute numbers.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"compare_ort: {' '.join(cmd[:3])} ... failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    sys.exit(f"compare_ort: no JSON in the output of {' '.join(cmd[:3])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pocket", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    try:
        threads = [int(t) for t in a.threads.split(",")]
    except ValueError:
        sys.exit(f"compare_ort: --threads must be a comma-separated list of integers, got '{a.threads}'")
    for f in (a.pocket, a.onnx):
        if not os.path.isfile(f):
            sys.exit(f"compare_ort: no such file '{f}'")

    pocket_bench = os.path.join(a.build, "tools", "pocket-bench")
    ort_bench = os.path.join(REPO, "scripts", "ort_bench.mjs")
    inputs = []
    for i in a.input:
        inputs += ["--input", i]
    common = ["--iterations", str(a.iterations), "--warmup", str(a.warmup)]

    results = []
    for t in threads:
        pocket_runs, ort_runs, last_pocket = [], [], None
        for _ in range(a.rounds):
            last_pocket = run_json([pocket_bench, a.pocket, "--threads", str(t), "--json"] + common + inputs)
            pocket_runs.append(last_pocket["median_ms"])
            o = run_json(["node", ort_bench, a.onnx, "--threads", str(t)] + common + inputs)
            ort_runs.append(o["median_ms"])
        p, o = statistics.median(pocket_runs), statistics.median(ort_runs)
        results.append({"threads": t, "pocket_median_ms": p, "ort_median_ms": o, "ort_over_pocket": o / p,
                        "pocket_rounds_ms": pocket_runs, "ort_rounds_ms": ort_runs,
                        "arena_bytes": last_pocket.get("arena_bytes"),
                        "peak_rss_bytes": last_pocket.get("peak_rss_bytes")})

    print(f"{'threads':>7} | {'Pocket ms':>10} | {'ORT 1.30 ms':>11} | {'ORT/Pocket':>10}")
    print("-" * 48)
    for r in results:
        print(f"{r['threads']:>7} | {r['pocket_median_ms']:>10.2f} | {r['ort_median_ms']:>11.2f} | {r['ort_over_pocket']:>9.2f}x")
    print(f"(medians of {a.rounds} alternating rounds x {a.iterations} iterations; >1x means Pocket is faster)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
