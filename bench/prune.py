#!/usr/bin/python3
"""Structured pruning figures (issue #5): MobileNetV3-Small pruned 0/30/50/70 % with
torch.nn.utils.prune (scripts/export_pruned_mobilenet.py), converted by pocket-convert (whose
prune_channels pass removes the zero channels): parameters before / after pruning (the converter's
"pruned: N channels, parameters A -> B" line), .pocket file size and pocket-bench's median latency.

  bench/prune.py [--build build] [--fixtures DIR] [--amounts 0,30,50,70] [--threads 1]
                 [--rounds 5] [--iterations 20] [--json OUT.json]

Fixtures: DIR/mobilenet_v3_small_pPCT.onnx (default BUILD/fixtures5/prune, made by the
pocket_prune_fixtures target; missing ones are exported with the script). Latency: the models
alternate in --rounds rounds of --iterations runs each (load drifts hit all alike); the median of
the round medians is reported. Timings on a shared machine are noisy: compare within one run.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--fixtures")
    ap.add_argument("--amounts", default="0,30,50,70")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()
    convert = os.path.join(args.build, "converter", "pocket-convert")
    bench = os.path.join(args.build, "tools", "pocket-bench")
    for tool in (convert, bench):
        if not os.path.exists(tool):
            sys.exit("missing %s (build it, or pass --build)" % tool)
    fixtures = args.fixtures or os.path.join(args.build, "fixtures5", "prune")
    amounts = [int(a) for a in args.amounts.split(",")]
    tmp = tempfile.mkdtemp(prefix="pocket_prune_")
    rows = []
    for pct in amounts:
        onnx = os.path.join(fixtures, "mobilenet_v3_small_p%d.onnx" % pct)
        if not os.path.exists(onnx):
            run([PYTHON, os.path.join(REPO, "scripts", "export_pruned_mobilenet.py"), "--amount",
                 str(pct / 100.0), "--out", fixtures])
        out = os.path.join(tmp, "p%d.pocket" % pct)
        text = run([convert, onnx, "-o", out])
        m = re.search(r"pruned:\s+(\d+) channels, parameters (\d+) -> (\d+)", text)
        channels, before, after = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, None, None)
        info = {}
        info_path = os.path.join(fixtures, "mobilenet_v3_small_p%d_info.json" % pct)
        if os.path.exists(info_path):
            with open(info_path) as f:
                info = json.load(f)
        rows.append({"amount": pct, "channels": channels, "params_before": before,
                     "params_after": after, "file_bytes": os.path.getsize(out), "pocket": out,
                     "torch_nonzero": info.get("params_nonzero_after"), "medians": [], "mins": []})
    # pocket-convert prints the line only when it removed channels; the masks keep every tensor's
    # size, so an unpruned model's count is any pruned model's "before".
    known = [r["params_before"] for r in rows if r["params_before"] is not None]
    for r in rows:
        if r["params_before"] is None:
            if not known:
                sys.exit("pocket-convert printed no 'pruned: N channels, parameters A -> B' line")
            r["params_before"] = r["params_after"] = known[0]
    for _ in range(args.rounds):
        for r in rows:
            js = json.loads(run([bench, r["pocket"], "--threads", str(args.threads), "--warmup", "3",
                                 "--iterations", str(args.iterations), "--json"]))
            r["medians"].append(float(js["median_ms"]))
            r["mins"].append(float(js["min_ms"]))
    base = rows[0]
    print("MobileNetV3-Small structured pruning (%d thread(s), median of %d rounds x %d runs)" % (
        args.threads, args.rounds, args.iterations))
    print("%-7s %9s %11s %11s %8s %10s %8s %11s %8s %9s" % ("pruned", "channels", "params in", "params out",
                                                             "ratio", "file KB", "ratio", "median ms", "ratio",
                                                             "min ms"))
    for r in rows:
        r["median_ms"] = statistics.median(r["medians"])
        r["min_ms"] = min(r["mins"])
        print("%5d %% %9d %11d %11d %8.3f %10.1f %8.3f %11.3f %8.3f %9.3f" % (
            r["amount"], r["channels"], r["params_before"], r["params_after"],
            r["params_after"] / base["params_after"], r["file_bytes"] / 1024.0,
            r["file_bytes"] / base["file_bytes"], r["median_ms"], r["median_ms"] / base["median_ms"], r["min_ms"]))
    if args.json:
        for r in rows:
            r.pop("pocket", None)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
