#!/usr/bin/python3
"""Quantization figures (issue #5): per model and precision (fp32, fp16, int8-dynamic, int8), the
file size and its ratio to fp32, the median latency with 1 and 2 threads and its ratio to fp32,
and accuracy / agreement / SQNR; Whisper-tiny's decoded tokens with an int8-dynamic encoder vs
fp32 (pocket-transcribe on the exporter's espeak-ng clip); DistilBERT converted with
`--max-error 30`: which layers stayed float (from --report-json).

  bench/quant.py [--build build] [--fixtures DIR] [--fixtures4 DIR] [--fixtures5 DIR]
                 [--threads 1,2] [--rounds 7] [--iterations 10] [--quick] [--json OUT.json]
                 [--models digits,mobilenet_v3_small,distilbert,whisper_tiny_encoder]

Models and data (the tests' fixtures, made at build time):
  digits                 BUILD/fixtures5/digits (scripts/train_digits.py: scikit-learn digits CNN)
  MobileNetV3-Small      BUILD/fixtures/mobilenet_v3_small.onnx, calibration BUILD/fixtures5/inputs/images/calib
  DistilBERT seq 128     BUILD/fixtures4/distilbert, calibration BUILD/fixtures5/inputs/text/calib
  Whisper-tiny encoder   BUILD/fixtures4/whisper-tiny
Each ONNX file is converted with pocket-convert --precision P (--calibration for int8) into a
temporary folder. Latency: pocket-bench --json, the precisions of one model alternating in
--rounds rounds of --iterations runs each (so load drifts hit all of them alike); the median of
the round medians is reported. Accuracy, agreement and SQNR come from the quantization tests
(BUILD/tests/quant/pocket_quant_tests, which print them) when that binary exists.
Timings on a shared 2-core machine are noisy: compare the ratios of one run.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_MODELS = ["digits", "mobilenet_v3_small", "distilbert", "whisper_tiny_encoder"]


def find_tool(build, name):
    for sub in ("tools", "converter", ""):
        p = os.path.join(build, sub, name)
        if os.path.isfile(p):
            return p
    return None


def run(cmd, what, timeout=3600):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-800:]}")
    return p.stdout


def convert(exe, onnx_path, out, precision, calib=None, extra=()):
    cmd = [exe, onnx_path, "-o", out, "--precision", precision, "--no-progress",
           "--report-json", out + ".report.json", *extra]
    if calib and precision == "int8":
        cmd += ["--calibration", calib]
    if precision == "fp32":  # fp32 writes no quantization report
        cmd = [c for c in cmd if c not in ("--no-progress",)]
        cmd = cmd[:cmd.index("--report-json")] + cmd[cmd.index("--report-json") + 2:]
    run(cmd, f"pocket-convert {os.path.basename(onnx_path)} --precision {precision}")
    report = None
    if os.path.isfile(out + ".report.json"):
        with open(out + ".report.json") as f:
            try:
                report = json.load(f)
            except ValueError:
                report = None
    return os.path.getsize(out), report


def bench_once(exe, pocket, threads, iterations, warmup, inputs=(), shapes=()):
    cmd = [exe, pocket, "--threads", str(threads), "--json", "--iterations", str(iterations), "--warmup", str(warmup)]
    for name, f in inputs:
        cmd += ["--input", f"{name}={f}"]
    for name, s in shapes:
        cmd += ["--input-shape", f"{name}={'x'.join(map(str, s))}"]
    out = run(cmd, f"pocket-bench {os.path.basename(pocket)}")
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("pocket-bench printed no JSON")


TEST_FILTERS = {"digits": "Quant/DigitsAccuracy.*", "mobilenet_v3_small": "QuantMobileNetV3Small.*",
                "distilbert": "QuantDistilBert.*"}


def quant_test_figures(build, models):
    """Accuracy / agreement / SQNR lines printed by the quantization tests, parsed per model."""
    exe = os.path.join(build, "tests", "quant", "pocket_quant_tests")
    if not os.path.isfile(exe):
        return {}, "no tests/quant/pocket_quant_tests in the build folder (accuracy columns empty)"
    filt = ":".join(TEST_FILTERS[m] for m in models if m in TEST_FILTERS)
    if not filt:
        return {}, ""
    p = subprocess.run([exe, f"--gtest_filter={filt}"], capture_output=True, text=True, timeout=3600)
    figs = {}
    for line in p.stdout.splitlines():
        m = re.search(r"digits (\S+)\s+test accuracy\s+([\d.]+) % \(fp32\s+([\d.]+) %.*?agreement with fp32\s+([\d.]+) %, "
                      r"SQNR\s+([-\d.]+) dB", line)
        if m:
            key = m.group(1)
            prec = "int8" if key.startswith("int8_") else key
            entry = dict(accuracy=float(m.group(2)), agreement=float(m.group(4)), sqnr=float(m.group(5)))
            if key.startswith("int8_"):
                entry["method"] = key[5:]
            figs.setdefault("digits", {}).setdefault("fp32", dict(accuracy=float(m.group(3)), agreement=100.0))
            figs["digits"].setdefault("methods", {})[key] = entry
            if prec != "int8" or key == "int8_minmax":
                figs["digits"][prec] = entry
        m = re.search(r"MobileNetV3-Small over (\d+) crops: int8 \((\w+)\) top-1 agreement ([\d.]+) %, SQNR ([-\d.]+) dB; "
                      r"fp16 agreement ([\d.]+) %, SQNR ([-\d.]+) dB", line)
        if m:
            figs["mobilenet_v3_small"] = dict(
                n=int(m.group(1)), int8=dict(agreement=float(m.group(3)), sqnr=float(m.group(4)), method=m.group(2)),
                fp16=dict(agreement=float(m.group(5)), sqnr=float(m.group(6))))
        m = re.search(r"DistilBERT over (\d+) sentences \(seq (\d+)\): int8-dynamic top-1 agreement ([\d.]+) %, "
                      r"SQNR ([-\d.]+) dB", line)
        if m:
            figs["distilbert"] = {"n": int(m.group(1)), "seq": int(m.group(2)),
                                  "int8-dynamic": dict(agreement=float(m.group(3)), sqnr=float(m.group(4)))}
    note = "" if p.returncode == 0 else f"pocket_quant_tests exit code {p.returncode} (some targets missed; see its output)"
    failed = sorted({m.group(1) for m in re.finditer(r"^\[  FAILED  \] (\S+\.\S+)", p.stdout, re.M)})
    if failed:
        note += "; failed: " + ", ".join(failed)
    return figs, note


def float_layers(report):
    """Layers a --report-json report left in float, with their SQNR and reason."""
    if not report:
        return []
    out = []
    for l in report.get("layers", []):
        prec = str(l.get("precision", ""))
        if not prec.startswith("int8"):
            out.append(l)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--fixtures", help="folder with mobilenet_v3_small.onnx (default BUILD/fixtures)")
    ap.add_argument("--fixtures4", help="folder with distilbert/, whisper-tiny/ (default BUILD/fixtures4)")
    ap.add_argument("--fixtures5", help="folder with digits/ and inputs/ (default BUILD/fixtures5)")
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=10, help="timed runs per round and precision")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-error-samples", type=int, default=8,
                    help="calibration sentences for DistilBERT --max-error 30 (each costs a float pass per layer)")
    ap.add_argument("--no-accuracy", action="store_true", help="do not run pocket_quant_tests")
    ap.add_argument("--quick", action="store_true", help="1 thread, 2 rounds, 3 iterations")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    if a.quick:
        a.threads, a.rounds, a.iterations, a.warmup = "1", 2, 3, 1
    threads = [int(t) for t in a.threads.split(",")]
    models = [m for m in a.models.split(",") if m]
    for m in models:
        if m not in ALL_MODELS:
            sys.exit(f"quant.py: unknown model '{m}' (known: {', '.join(ALL_MODELS)})")
    fx = a.fixtures or os.path.join(a.build, "fixtures")
    fx4 = a.fixtures4 or os.path.join(a.build, "fixtures4")
    fx5 = a.fixtures5 or os.path.join(a.build, "fixtures5")
    bench_exe = find_tool(a.build, "pocket-bench")
    convert_exe = find_tool(a.build, "pocket-convert")
    if not bench_exe or not convert_exe:
        sys.exit(f"quant.py: pocket-bench / pocket-convert not found under {a.build}")

    tmp = tempfile.mkdtemp(prefix="pocket-quant-")
    notes = []
    results = []  # dict(model, precision, bytes, ratio, ms{threads: median}, ...)
    extra = {}
    try:
        specs = []
        if "digits" in models:
            d = os.path.join(fx5, "digits")
            specs.append(dict(key="digits", name="digits CNN", onnx=os.path.join(d, "digits.onnx"),
                              calib=os.path.join(d, "calib"), precisions=["fp32", "fp16", "int8-dynamic", "int8"]))
        if "mobilenet_v3_small" in models:
            specs.append(dict(key="mobilenet_v3_small", name="MobileNetV3-Small",
                              onnx=os.path.join(fx, "mobilenet_v3_small.onnx"),
                              calib=os.path.join(fx5, "inputs", "images", "calib"),
                              precisions=["fp32", "fp16", "int8-dynamic", "int8"]))
        if "distilbert" in models:
            db = os.path.join(fx4, "distilbert")
            spec = dict(key="distilbert", name="DistilBERT seq 128", onnx=os.path.join(db, "model.onnx"),
                        calib=os.path.join(fx5, "inputs", "text", "calib"),
                        precisions=["fp32", "fp16", "int8-dynamic"], shapes=[("input_ids", [1, 128])])
            if os.path.isfile(os.path.join(db, "ref_seq128_input_ids.npy")):
                np.save(os.path.join(tmp, "ids.npy"), np.load(os.path.join(db, "ref_seq128_input_ids.npy"))[:1])
                np.save(os.path.join(tmp, "mask.npy"), np.load(os.path.join(db, "ref_seq128_attention_mask.npy"))[:1])
                spec["inputs"] = [("input_ids", os.path.join(tmp, "ids.npy")),
                                  ("attention_mask", os.path.join(tmp, "mask.npy"))]
            specs.append(spec)
        if "whisper_tiny_encoder" in models:
            wd = os.path.join(fx4, "whisper-tiny")
            spec = dict(key="whisper_tiny_encoder", name="Whisper-tiny encoder", onnx=os.path.join(wd, "encoder.onnx"),
                        calib=None, precisions=["fp32", "fp16", "int8-dynamic"])
            if os.path.isfile(os.path.join(wd, "ref_mel.npy")):
                spec["inputs"] = [("mel", os.path.join(wd, "ref_mel.npy"))]
            specs.append(spec)

        for spec in specs:
            if not os.path.isfile(spec["onnx"]):
                notes.append(f"{spec['name']}: no {spec['onnx']}")
                continue
            converted = {}
            for p in spec["precisions"]:
                out = os.path.join(tmp, f"{spec['key']}_{p}.pocket")
                if p == "int8" and not (spec["calib"] and os.path.isdir(spec["calib"])):
                    notes.append(f"{spec['name']} int8: no calibration folder {spec['calib']}")
                    continue
                try:
                    size, report = convert(convert_exe, spec["onnx"], out, p, spec["calib"],
                                           spec.get("convert_extra", {}).get(p, ()))
                    converted[p] = dict(path=out, bytes=size, report=report)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    notes.append(f"{spec['name']} {p}: {e}")
            print(f"  converted {spec['name']}: {', '.join(converted)}", flush=True)
            ms = {p: {t: [] for t in threads} for p in converted}
            for t in threads:
                for r in range(a.rounds):
                    for p, c in converted.items():
                        try:
                            j = bench_once(bench_exe, c["path"], t, a.iterations, a.warmup if r == 0 else 1,
                                           spec.get("inputs", ()), spec.get("shapes", ()))
                            ms[p][t].append(j["median_ms"])
                        except RuntimeError as e:
                            if not ms[p][t]:
                                notes.append(f"{spec['name']} {p} {t} thread(s): {e}")
                            ms[p][t].append(float("nan"))
                print(f"  measured {spec['name']}, {t} thread(s)", flush=True)
            base = converted.get("fp32")
            for p, c in converted.items():
                med = {t: statistics.median([v for v in ms[p][t] if v == v]) if any(v == v for v in ms[p][t])
                       else float("nan") for t in threads}
                rep = c["report"] or {}
                results.append(dict(model=spec["name"], key=spec["key"], precision=p, bytes=c["bytes"],
                                    size_ratio=c["bytes"] / base["bytes"] if base else float("nan"), ms=med,
                                    rounds={t: ms[p][t] for t in threads},
                                    transitions=rep.get("transitions"), model_sqnr_db=rep.get("model_sqnr_db")))

            # Whisper-tiny: decoded tokens with the int8-dynamic encoder vs fp32.
            if spec["key"] == "whisper_tiny_encoder":
                wd = os.path.dirname(spec["onnx"])
                tr = find_tool(a.build, "pocket-transcribe")
                wav = os.path.join(wd, "speech30.wav")
                if not tr:
                    notes.append("pocket-transcribe not built: no decoded-token comparison")
                elif not os.path.isfile(wav):
                    notes.append(f"no {wav}: no decoded-token comparison")
                else:
                    try:
                        dec_onnx = os.path.join(wd, "decoder.onnx")
                        tok = os.path.join(wd, "multilingual.tiktoken")
                        dec = os.path.join(tmp, "whisper_dec_fp32.pocket")
                        run([convert_exe, dec_onnx, "-o", dec, "--tokenizer", tok], "pocket-convert decoder")
                        dec8 = os.path.join(tmp, "whisper_dec_int8.pocket")
                        run([convert_exe, dec_onnx, "-o", dec8, "--tokenizer", tok, "--precision", "int8-dynamic",
                             "--no-progress"], "pocket-convert decoder int8-dynamic")
                        tx = {}
                        for p in ("fp32", "int8-dynamic"):
                            enc = os.path.join(tmp, f"whisper_enc_{p}.pocket")
                            args = [convert_exe, spec["onnx"], "-o", enc, "--audio-frontend", "whisper"]
                            if p != "fp32":
                                args += ["--precision", p, "--no-progress"]
                            run(args, f"pocket-convert encoder {p}")
                            for d_name, d_path in (("fp32", dec), ("int8-dynamic", dec8)):
                                if p == "fp32" and d_name != "fp32":
                                    continue
                                out = run([tr, enc, d_path, wav, "--json"], "pocket-transcribe")
                                tx[f"encoder {p}, decoder {d_name}"] = json.loads(out.strip().splitlines()[-1])
                        extra["whisper_tokens"] = tx
                    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                        notes.append(f"Whisper-tiny decoded tokens: {e}")

            # DistilBERT with --max-error 30: which layers stayed float.
            if spec["key"] == "distilbert":
                if spec["calib"] and os.path.isdir(spec["calib"]):
                    out = os.path.join(tmp, "distilbert_maxerr.pocket")
                    try:
                        size, report = convert(convert_exe, spec["onnx"], out, "int8-dynamic", None,
                                               ["--calibration", spec["calib"], "--max-error", "30",
                                                "--calibration-samples", str(a.max_error_samples)])
                        extra["distilbert_max_error_30"] = dict(bytes=size, size_ratio=size / base["bytes"] if base else None,
                                                               model_sqnr_db=(report or {}).get("model_sqnr_db"),
                                                               float_layers=float_layers(report),
                                                               layers=len((report or {}).get("layers", [])))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        notes.append(f"DistilBERT --max-error 30: {e}")
                else:
                    notes.append(f"DistilBERT --max-error 30: no calibration folder {spec['calib']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    acc, acc_note = ({}, "accuracy not measured (--no-accuracy)") if a.no_accuracy else quant_test_figures(a.build, models)
    if acc_note:
        notes.append(acc_note)

    print()
    tcols = "".join(f" {f'{t}T ms':>9} {f'{t}T /fp32':>8}" for t in threads)
    head = f"{'model':<21} {'precision':<13} {'bytes':>11} {'size/fp32':>9}{tcols}  {'accuracy / agreement / SQNR'}"
    print(head)
    print("-" * len(head))
    for r in results:
        base = next((b for b in results if b["key"] == r["key"] and b["precision"] == "fp32"), None)
        cols = ""
        for t in threads:
            m = r["ms"][t]
            rel = m / base["ms"][t] if base and base["ms"][t] == base["ms"][t] and base["ms"][t] > 0 else float("nan")
            cols += f" {m:>9.3f} {rel:>8.3f}"
        a_ = acc.get(r["key"], {}).get(r["precision"])
        if a_ is None:
            q = ""
        else:
            parts = []
            if "accuracy" in a_:
                parts.append(f"acc {a_['accuracy']:.2f} %")
            if r["precision"] != "fp32":
                parts.append(f"agree {a_['agreement']:.2f} %")
                parts.append(f"SQNR {a_['sqnr']:.1f} dB")
            if "method" in a_:
                parts.append(a_["method"])
            q = ", ".join(parts)
        r["accuracy"] = a_
        print(f"{r['model']:<21} {r['precision']:<13} {r['bytes']:>11} {r['size_ratio']:>9.3f}{cols}  {q}")

    if "digits" in acc and "methods" in acc["digits"]:
        d = acc["digits"]
        print(f"\ndigits test accuracy (450 images): fp32 {d['fp32']['accuracy']:.2f} %; " +
              "; ".join(f"{k} {v['accuracy']:.2f} % ({v['accuracy'] - d['fp32']['accuracy']:+.2f})"
                        for k, v in d["methods"].items()))
    for k, n in (("mobilenet_v3_small", "crops"), ("distilbert", "sentences")):
        if k in acc:
            print(f"{k}: agreement/SQNR measured over {acc[k]['n']} {n}")

    # Targets from the issue.
    def find(key, prec):
        return next((r for r in results if r["key"] == key and r["precision"] == prec), None)
    checks = []
    for key in ("mobilenet_v3_small", "distilbert", "digits", "whisper_tiny_encoder"):
        for prec, limit in (("int8", 0.27), ("int8-dynamic", 0.27), ("fp16", 0.51)):
            r = find(key, prec)
            if r:
                checks.append((f"{r['model']} {prec} size <= {limit}x", r["size_ratio"], limit))
    r, b = find("mobilenet_v3_small", "int8"), find("mobilenet_v3_small", "fp32")
    if r and b and 1 in threads:
        checks.append(("MobileNetV3-Small int8 1T latency <= 0.6x", r["ms"][1] / b["ms"][1], 0.6))
    r, b = find("distilbert", "int8-dynamic"), find("distilbert", "fp32")
    if r and b and 1 in threads:
        checks.append(("DistilBERT int8-dynamic 1T latency <= 0.45x", r["ms"][1] / b["ms"][1], 0.45))
    if checks:
        print("\ntargets:")
        for what, v, lim in checks:
            print(f"  {what:<48} {v:>7.3f}  {'met' if v <= lim else 'NOT met'}")
    r, b = find("whisper_tiny_encoder", "int8-dynamic"), find("whisper_tiny_encoder", "fp32")
    if r and b:
        print("\nWhisper-tiny encoder int8-dynamic speed-up: " +
              ", ".join(f"{t}T {b['ms'][t] / r['ms'][t]:.2f}x" for t in threads))
    wt = extra.get("whisper_tokens")
    if wt:
        ref = wt.get("encoder fp32, decoder fp32", {}).get("tokens", [])
        for k, v in wt.items():
            toks = v.get("tokens", [])
            same = sum(1 for x, y in zip(ref, toks) if x == y)
            first = next((i for i, (x, y) in enumerate(zip(ref, toks)) if x != y), min(len(ref), len(toks)))
            diff = "identical" if toks == ref else f"first difference at token {first}, {same}/{max(len(ref), len(toks))} equal by position"
            print(f"  pocket-transcribe, {k}: {len(toks)} tokens, {diff}; encoder {v.get('encoder_ms', 0):.0f} ms; "
                  f"text: {v.get('text', '')[:80]!r}")
    me = extra.get("distilbert_max_error_30")
    if me:
        fl = me["float_layers"]
        sq = me["model_sqnr_db"]
        ratio = "" if me["size_ratio"] is None else f" ({me['size_ratio']:.3f}x fp32)"
        print(f"\nDistilBERT int8-dynamic --max-error 30: model SQNR {sq if sq is None else f'{sq:.1f}'} dB, "
              f"{len(fl)} of {me['layers']} layers kept float, file {me['bytes']} bytes{ratio}")
        for l in fl:
            s = l.get("sqnr_db")
            print(f"  {l.get('name', '?'):<44} {l.get('op', ''):<8} {l.get('precision', ''):<6} "
                  f"SQNR {s if s is None else f'{s:.1f}'} dB  {l.get('reason', '')}")
    for n in notes:
        print(f"note: {n}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(results=results, accuracy=acc, extra=extra, notes=notes), f, indent=1, default=str)


if __name__ == "__main__":
    main()
