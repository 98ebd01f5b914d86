#!/usr/bin/python3
"""Transformer figures: DistilBERT (seq 128) and the Whisper-tiny encoder, Pocket vs ONNX Runtime
1.30 on the same ONNX in the same run, 1 and 2 threads; Whisper decoder step (KV cache) ms per
token for tiny and base; end-to-end real-time factor of a 30 s clip with pocket-transcribe.

  bench/transformers.py [--build build] [--fixtures DIR] [--threads 1,2] [--rounds 5]
                        [--iterations 20] [--quick] [--json OUT.json]

Fixtures come from scripts/export_distilbert.py / export_whisper.py (the model tests export them
into BUILD/fixtures4; /work/fixtures4 style folders work too: DIR/distilbert, DIR/whisper-tiny,
DIR/whisper-base). Each ONNX file is converted with BUILD/converter/pocket-convert (or
BUILD/tools/pocket-convert) into a temporary folder, then `pocket-bench --compare-onnx` runs Pocket
and ONNX Runtime alternating in one process on identical inputs (--rounds rounds) and reports both
medians. % of peak = model MACs x 2 / median / (FMA peak x threads), MACs counted from the ONNX
graph with the benchmark's input shapes (Conv, Gemm, MatMul), the peak measured once by
pocket_bench_kernels' probe (like bench/models.py). --quick: 1 thread, 2 rounds, few iterations.
Timings on a shared 2-core machine are noisy: compare the ratios of one run.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def count_macs(onnx_path, input_shapes):
    """Multiply-accumulates of Conv/Gemm/MatMul nodes after fixing the inputs' symbolic dims."""
    import onnx
    from onnx import numpy_helper, shape_inference

    m = onnx.load(onnx_path)
    for vi in m.graph.input:
        if vi.name in input_shapes:
            dims = vi.type.tensor_type.shape.dim
            for d, v in zip(dims, input_shapes[vi.name]):
                d.ClearField("dim_param")
                d.dim_value = v
    m = shape_inference.infer_shapes(m, data_prop=True)
    g = m.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in t.shape.dim]
    for init in g.initializer:
        shapes[init.name] = list(numpy_helper.to_array(init).shape)
    for n in g.node:
        if n.op_type == "Constant":
            for at in n.attribute:
                if at.name == "value":
                    shapes[n.output[0]] = list(numpy_helper.to_array(at.t).shape)
    prod = lambda v: int(np.prod(v)) if v else 1
    macs = 0
    missing = 0
    for n in g.node:
        if n.op_type == "Conv":
            w, y = shapes.get(n.input[1]), shapes.get(n.output[0])
            if not w or not y or 0 in y:
                missing += 1
                continue
            macs += prod(y) * prod(w[1:])
        elif n.op_type in ("Gemm", "MatMul"):
            a, y = shapes.get(n.input[0]), shapes.get(n.output[0])
            if not a or not y or 0 in y or 0 in a:
                missing += 1
                continue
            trans_a = any(at.name == "transA" and at.i for at in n.attribute)
            macs += prod(y) * (a[-2] if trans_a else a[-1])
    return macs, missing


def measure_peak(build):
    exe = os.path.join(build, "bench", "pocket_bench_kernels")
    if not os.path.isfile(exe):
        return None
    best = 0.0
    for _ in range(3):
        p = subprocess.run([exe, "--benchmark_filter=^$"], capture_output=True, text=True)
        m = re.search(r"peak \(1 core[^)]*\): ([0-9.]+) GFLOP/s", p.stdout + p.stderr)
        if m:
            best = max(best, float(m.group(1)))
    return best or None


def find_tool(build, name):
    for sub in ("tools", "converter", ""):
        p = os.path.join(build, sub, name)
        if os.path.isfile(p):
            return p
    return None


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-600:]}")
    return p.stdout


def convert(convert_exe, onnx_path, out, extra=()):
    run([convert_exe, onnx_path, "-o", out, *extra], f"pocket-convert {os.path.basename(onnx_path)}")
    return out


def bench(bench_exe, pocket, onnx_path, threads, a, inputs=(), shapes=(), compare=True):
    cmd = [bench_exe, pocket, "--threads", str(threads), "--json", "--iterations", str(a.iterations),
           "--warmup", str(a.warmup)]
    for name, f in inputs:
        cmd += ["--input", f"{name}={f}"]
    for name, s in shapes:
        cmd += ["--input-shape", f"{name}={'x'.join(map(str, s))}"]
    if compare:
        cmd += ["--compare-onnx", onnx_path, "--rounds", str(a.rounds)]
    out = run(cmd, f"pocket-bench {os.path.basename(pocket)}")
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("pocket-bench printed no JSON")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--fixtures", help="folder with distilbert/, whisper-tiny/, whisper-base/ (default BUILD/fixtures4)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="CI-sized: 1 thread, 2 rounds, 4 iterations")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    if a.quick:
        a.threads, a.rounds, a.iterations, a.warmup = "1", 2, 4, 1
    threads = [int(t) for t in a.threads.split(",")]
    fx = a.fixtures or os.path.join(a.build, "fixtures4")
    bench_exe = find_tool(a.build, "pocket-bench")
    convert_exe = find_tool(a.build, "pocket-convert")
    if not bench_exe or not convert_exe:
        sys.exit(f"transformers.py: pocket-bench / pocket-convert not found under {a.build}")
    if not shutil.which("node"):
        sys.exit("transformers.py: node is not on PATH (ONNX Runtime runs in onnxruntime-node; scripts/ort_install.sh)")

    peak = measure_peak(a.build)
    print(f"FMA peak (1 core, measured now): {f'{peak:.1f} GFLOP/s' if peak else 'unavailable (no pocket_bench_kernels)'}",
          flush=True)
    tmp = tempfile.mkdtemp(prefix="pocket-transformers-")
    rows, extra, notes = [], {}, []
    try:
        # DistilBERT, batch 1, seq 128: the padded reference row 0 (all 128 positions real).
        db = os.path.join(fx, "distilbert")
        if os.path.isfile(os.path.join(db, "model.onnx")):
            ids = np.load(os.path.join(db, "ref_seq128_input_ids.npy"))[:1]
            mask = np.load(os.path.join(db, "ref_seq128_attention_mask.npy"))[:1]
            np.save(os.path.join(tmp, "ids.npy"), ids)
            np.save(os.path.join(tmp, "mask.npy"), mask)
            onnx_path = os.path.join(db, "model.onnx")
            macs, miss = count_macs(onnx_path, {"input_ids": [1, 128], "attention_mask": [1, 128]})
            if miss:  # shapes computed through Shape/Gather/Concat stay unknown to ONNX shape inference
                s_, d_, f_, n_ = 128, 768, 3072, 6  # distilbert-base: 4 s d^2 + 2 s d f + 2 s^2 d per layer
                macs = n_ * (4 * s_ * d_ * d_ + 2 * s_ * d_ * f_ + 2 * s_ * s_ * d_) + d_ * d_ + 2 * d_
            try:
                pk = convert(convert_exe, onnx_path, os.path.join(tmp, "distilbert.pocket"))
                for t in threads:
                    r = bench(bench_exe, pk, onnx_path, t, a,
                              inputs=[("input_ids", os.path.join(tmp, "ids.npy")),
                                      ("attention_mask", os.path.join(tmp, "mask.npy"))],
                              shapes=[("input_ids", [1, 128])])
                    rows.append(("DistilBERT seq 128", macs, t, r))
                    print(f"  measured DistilBERT, {t} thread(s)", flush=True)
            except RuntimeError as e:
                notes.append(f"DistilBERT: {e}")
        else:
            notes.append(f"DistilBERT: no {db}/model.onnx")

        # Whisper-tiny encoder (30 s window) and decoder step per size.
        for size in ("tiny", "base"):
            wd = os.path.join(fx, f"whisper-{size}")
            if not os.path.isfile(os.path.join(wd, "encoder.onnx")):
                notes.append(f"whisper-{size}: no {wd}/encoder.onnx")
                continue
            try:
                enc_onnx, dec_onnx = os.path.join(wd, "encoder.onnx"), os.path.join(wd, "decoder.onnx")
                tok = os.path.join(wd, "multilingual.tiktoken")
                enc = convert(convert_exe, enc_onnx, os.path.join(tmp, f"{size}_encoder.pocket"))
                dec = convert(convert_exe, dec_onnx, os.path.join(tmp, f"{size}_decoder.pocket"))
                if size == "tiny":
                    # Includes the decoder's cross-attention K/V projections that the encoder graph
                    # computes (1.77 GMAC over the 18.5 of the encoder proper).
                    macs, miss = count_macs(enc_onnx, {})
                    for t in threads:
                        r = bench(bench_exe, enc, enc_onnx, t, a, inputs=[("mel", os.path.join(wd, "ref_mel.npy"))])
                        rows.append(("Whisper-tiny encoder", macs, t, r))
                        print(f"  measured Whisper-tiny encoder, {t} thread(s)", flush=True)
                for t in threads:
                    r = bench(bench_exe, dec, dec_onnx, t, a)
                    extra.setdefault("decoder_step", []).append(
                        dict(size=size, threads=t, pocket_ms=r["median_ms"], ort_ms=r.get("ort_median_ms")))
                    print(f"  measured Whisper-{size} decoder step, {t} thread(s)", flush=True)
                # End to end with pocket-transcribe (SPEECH engineer's tool), when it exists.
                tr = find_tool(a.build, "pocket-transcribe")
                wav = os.path.join(wd, "speech30.wav")
                if tr and os.path.isfile(wav):
                    # The audio front end goes with the encoder, the vocabulary with the decoder
                    # (its logits give the vocabulary size).
                    try:
                        enc_m = convert(convert_exe, enc_onnx, os.path.join(tmp, f"{size}_encoder_meta.pocket"),
                                        ["--audio-frontend", "whisper"])
                        dec_m = convert(convert_exe, dec_onnx, os.path.join(tmp, f"{size}_decoder_meta.pocket"),
                                        ["--tokenizer", tok])
                        out = run([tr, enc_m, dec_m, wav, "--json"], "pocket-transcribe")
                        j = json.loads(out.strip().splitlines()[-1])
                        extra.setdefault("transcribe", []).append(dict(size=size, result=j))
                    except (RuntimeError, ValueError) as e:
                        notes.append(f"pocket-transcribe whisper-{size}: {e}")
                elif not tr:
                    notes.append("pocket-transcribe not built: no real-time factor")
            except RuntimeError as e:
                notes.append(f"whisper-{size}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    head = (f"{'model':<22} {'GMAC':>6} {'thr':>3} {'Pocket ms':>10} {'ORT ms':>9} {'Pocket/ORT':>10} "
            f"{'Pocket %peak':>12} {'ORT %peak':>9}")
    print(head)
    print("-" * len(head))
    out_rows = []
    for name, macs, t, r in rows:
        pm, om = r["median_ms"], r.get("ort_median_ms")
        pp = 100.0 * 2 * macs / (pm * 1e-3) / (peak * 1e9 * t) if peak else float("nan")
        op = 100.0 * 2 * macs / (om * 1e-3) / (peak * 1e9 * t) if peak and om else float("nan")
        print(f"{name:<22} {macs / 1e9:>6.2f} {t:>3} {pm:>10.2f} {om if om else float('nan'):>9.2f} "
              f"{pm / om if om else float('nan'):>10.3f} {pp:>11.1f}% {op:>8.1f}%")
        diffs = r.get("output_max_abs_diff", {})
        out_rows.append(dict(model=name, gmacs=macs / 1e9, threads=t, pocket_ms=pm, ort_ms=om,
                             pocket_pct_peak=pp, ort_pct_peak=op, output_max_abs_diff=diffs))
    by = {}
    for r in out_rows:
        by.setdefault(r["model"], {})[r["threads"]] = r
    for name, d in by.items():
        if 1 in d and 2 in d:
            print(f"{name:<22} 2-thread speed-up: Pocket {d[1]['pocket_ms'] / d[2]['pocket_ms']:.2f}x, "
                  f"ORT {d[1]['ort_ms'] / d[2]['ort_ms']:.2f}x")
    for s in extra.get("decoder_step", []):
        ort = f", ORT {s['ort_ms']:.2f} ms" if s.get("ort_ms") else ""
        print(f"Whisper-{s['size']} decoder step (KV cache, 448-token cache), {s['threads']} thread(s): "
              f"Pocket {s['pocket_ms']:.2f} ms/token{ort}")
    for s in extra.get("transcribe", []):
        j = s["result"]
        rtf = j.get("rtf", j.get("real_time_factor"))
        print(f"Whisper-{s['size']} pocket-transcribe 30 s clip: real-time factor {rtf} ({json.dumps(j)[:200]})")
    for n in notes:
        print(f"note: {n}")
    print(f"\n(medians of {a.rounds} alternating rounds x {a.iterations} iterations"
          f"{f'; peak {peak:.1f} GFLOP/s per core' if peak else ''})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(peak_gflops_1core=peak, models=out_rows, **extra, notes=notes), f, indent=2)


if __name__ == "__main__":
    main()
