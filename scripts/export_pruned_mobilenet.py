#!/usr/bin/python3
"""Exports a structurally pruned MobileNetV3-Small (torchvision, seeded weights) to ONNX.

Usage:
  export_pruned_mobilenet.py --amount 0.3 --out DIR [--mode grouped|independent]

The model is built exactly like tests/fixtures/export_models.py builds its mobilenet_v3_small
(seeded init, random BN affine, LSUV, BN calibration on real photos), then pruned with
torch.nn.utils.prune the way structured-pruning toolkits do it:
  - ln_structured(n=2, dim=0, amount) on the weight of every Conv whose output feeds an
    activation with act(0) = 0 or a projection (stem, expand, SE fc1, project, last conv) and on
    the first classifier Linear (not the classifier output, not the SE gate fc2 whose
    HardSigmoid(0) = 0.5 is not zero);
  - the matching BatchNorm weight and bias (Linear/SE-fc1 bias) zeroed with custom_from_mask, so
    the channel is exactly zero after BN;
  - grouped mode (default): a depthwise Conv takes the mask of the Conv that feeds it (its channel c
    reads only that channel), and the projection of a residual block takes the mask of the
    residual stream it is added to (a stream channel is zero only if every addend is zero);
    independent mode prunes every such Conv on its own (the converter then keeps the channels it
    cannot remove exactly, with notes);
  - prune.remove makes the zeros permanent.
DIR receives mobilenet_v3_small_p{PCT}.onnx (opset 13, input "input", output "logits"),
mobilenet_v3_small_p{PCT}_input.npy (skimage chelsea, ImageNet-normalised), _output.npy (PyTorch's
logits) and _info.json (parameter counts: total, nonzero).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.utils.prune as prune

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import export_models as em  # noqa: E402


def channel_mask(module):
    """The per-output-channel keep mask of a pruned module's weight."""
    m = module.weight_mask
    return m.reshape(m.shape[0], -1)[:, 0].clone()


def apply_mask(module, keep, bias=True):
    """Zeroes output channels where keep == 0 (weight rows, and the bias when present)."""
    shape = [-1] + [1] * (module.weight.dim() - 1)
    prune.custom_from_mask(module, "weight", keep.view(shape).expand_as(module.weight).clone())
    if bias and getattr(module, "bias", None) is not None:
        prune.custom_from_mask(module, "bias", keep.clone())


def prune_ln(module, amount):
    prune.ln_structured(module, "weight", amount=amount, n=2, dim=0)
    keep = channel_mask(module)
    if getattr(module, "bias", None) is not None:
        prune.custom_from_mask(module, "bias", keep.clone())
    return keep


def prune_cna(cna, amount=None, keep=None):
    """A Conv2dNormActivation (conv, bn[, act]): ln_structured on the conv (or a given mask) and the
    same mask on the BN weight and bias."""
    conv, bn = cna[0], cna[1]
    if keep is None:
        keep = prune_ln(conv, amount)
    else:
        apply_mask(conv, keep)
    apply_mask(bn, keep)
    return keep


def prune_model(model, amount, grouped):
    from torchvision.models.mobilenetv3 import InvertedResidual
    from torchvision.ops.misc import SqueezeExcitation
    feats = model.features
    stream = prune_cna(feats[0], amount)
    for blk in feats[1:-1]:
        assert isinstance(blk, InvertedResidual)
        layers = list(blk.block)
        i = 0
        if len(layers) == 4 or (len(layers) == 3 and not isinstance(layers[1], SqueezeExcitation)):
            hidden = prune_cna(layers[0], amount)   # expand 1x1
            i = 1
        else:
            hidden = stream                          # the depthwise reads the stream directly
        dw = layers[i]
        if grouped:
            prune_cna(dw, keep=hidden)
        else:
            prune_cna(dw, amount)
        i += 1
        if isinstance(layers[i], SqueezeExcitation):
            prune_ln(layers[i].fc1, amount)
            i += 1
        proj = layers[i]
        if not blk.use_res_connect:
            stream = prune_cna(proj, amount)
        elif grouped:
            prune_cna(proj, keep=stream)
        else:
            prune_cna(proj, amount)
    prune_cna(feats[-1], amount)
    prune_ln(model.classifier[0], amount)
    for m in model.modules():
        for name in ("weight", "bias"):
            if prune.is_pruned(m) and hasattr(m, name + "_orig"):
                prune.remove(m, name)


def count_params(model):
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return total, nonzero


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--amount", type=float, required=True, help="fraction of channels per Conv (0..0.9)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["grouped", "independent"], default="grouped")
    args = ap.parse_args()
    if not 0.0 <= args.amount < 1.0:
        ap.error("--amount must be in [0, 1)")
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("POCKET_FIXTURE_THREADS", "1")))
    t0 = time.time()
    torch.manual_seed(em.SEED)
    gen = torch.Generator().manual_seed(em.SEED)
    model, source = em.build("mobilenet_v3_small", None, gen)
    model.eval()
    before = count_params(model)
    if args.amount > 0:
        prune_model(model, args.amount, args.mode == "grouped")
    model.eval()
    after = count_params(model)
    x = em.test_input()
    with torch.no_grad():
        y = model(x)
    stem = "mobilenet_v3_small_p%d" % round(args.amount * 100)
    if args.mode != "grouped":
        stem += "_" + args.mode
    onnx_path = os.path.join(args.out, stem + ".onnx")
    tmp = onnx_path + ".tmp.onnx"
    torch.onnx.export(model, x, tmp, opset_version=em.OPSET, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(tmp))
    os.replace(tmp, onnx_path)
    np.save(os.path.join(args.out, stem + "_input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out, stem + "_output.npy"), y.numpy().astype(np.float32))
    info = {
        "generator": "scripts/export_pruned_mobilenet.py",
        "amount": args.amount,
        "mode": args.mode,
        "weights": source,
        "params_total": before[0],
        "params_nonzero_before": before[1],
        "params_nonzero_after": after[1],
        "top5": [int(i) for i in np.argsort(-y.numpy()[0])[:5]],
        "output_std": float(y.std()),
    }
    with open(os.path.join(args.out, stem + "_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("%s: amount %.2f (%s): nonzero params %d -> %d of %d, logits std %.4f (%.1fs)" % (
        stem, args.amount, args.mode, before[1], after[1], before[0], info["output_std"], time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
