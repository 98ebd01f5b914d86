#!/usr/bin/python3
"""Exports ONNX QDQ fixtures (QuantizeLinear / DequantizeLinear around ops) for the converter's
fold_qdq pass.

Usage:
  export_qdq.py --out DIR

DIR receives
  qat_digits.onnx       a small CNN (conv-bn-relu x3 with a residual add, global average pool,
                        linear) trained on scikit-learn's handwritten digits (fixed seed and split),
                        BatchNorm folded, then fine-tuned with PyTorch eager-mode QAT
                        (torch.ao.quantization.prepare_qat: per-tensor uint8 activations, per-channel
                        symmetric int8 weights) and exported to ONNX opset 13 with its fake quant as
                        QuantizeLinear/DequantizeLinear pairs; input "input" [16, 1, 8, 8]
  qat_digits_input.npy  16 test digits; qat_digits_output.npy the QAT model's logits in PyTorch
                        (its fake quant is the QDQ simulation); qat_digits_labels.npy
  qdq_hand.onnx         a graph built with onnx.helper: uint8 activations (zero points 128 and 0),
                        int8 per-channel weights, int32 biases, Conv+Relu, MaxPool, Conv 1x1,
                        Add, GlobalAveragePool, Flatten, Gemm, and a float Sigmoid branch;
                        input "input" [2, 3, 10, 10]
  qdq_hand_input.npy, qdq_hand_output.npy, qdq_hand_sigmoid.npy   numpy QDQ simulation (float64
                        products of dequantized values, round half to even, saturation)
  qdq_info.json         accuracies and output quantization steps
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240229
OPSET = 13
BATCH = 16


# ---- QAT digits CNN ------------------------------------------------------------------------------

class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.relu3 = nn.ReLU()
        self.add = torch.ao.nn.quantized.FloatFunctional()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.quant_pool = torch.ao.quantization.QuantStub()
        self.fc = nn.Linear(16, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.bn2(self.conv2(x)))
        y = self.relu3(self.bn3(self.conv3(y)))
        x = self.add.add(x, y)
        x = self.pool(x)
        x = self.quant_pool(x)   # the pooled value is quantized again: GAP runs int8
        x = torch.flatten(x, 1)
        return self.dequant(self.fc(x))


def digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.5) / 0.5
    y = d.target.astype(np.int64)
    rng = np.random.RandomState(SEED % (2 ** 31))
    idx = rng.permutation(len(x))
    split = int(len(x) * 0.8)
    tr, te = idx[:split], idx[split:]
    return (torch.from_numpy(x[tr]).unsqueeze(1), torch.from_numpy(y[tr]),
            torch.from_numpy(x[te]).unsqueeze(1), torch.from_numpy(y[te]))


def train(model, xs, ys, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        perm = torch.randperm(len(xs), generator=g)
        for i in range(0, len(xs), 32):
            b = perm[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[b]), ys[b])
            loss.backward()
            opt.step()


def accuracy(model, xs, ys):
    with torch.no_grad():
        return float((model(xs).argmax(1) == ys).float().mean())


def qat_digits(out):
    from torch.ao.quantization import (FakeQuantize, MovingAverageMinMaxObserver,
                                       MovingAveragePerChannelMinMaxObserver, QConfig)
    torch.manual_seed(SEED)
    xtr, ytr, xte, yte = digits()
    model = DigitsNet()
    model.train()
    train(model, xtr, ytr, epochs=6, lr=3e-3)
    model.eval()
    acc_fp32 = accuracy(model, xte, yte)
    # BatchNorm folded into the convs (eval-mode fusion), then QAT on Conv+ReLU.
    model = torch.ao.quantization.fuse_modules(
        model, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["conv3", "bn3", "relu3"]])
    act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                 dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
    wt = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
    model.qconfig = QConfig(activation=act, weight=wt)
    model.train()
    torch.ao.quantization.prepare_qat(model, inplace=True)
    train(model, xtr, ytr, epochs=2, lr=5e-4)
    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    acc_qat = accuracy(model, xte, yte)
    x = xte[:BATCH].contiguous()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out, "qat_digits.onnx")
    torch.onnx.export(model, x, path + ".tmp", opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    os.replace(path + ".tmp", path)
    np.save(os.path.join(out, "qat_digits_input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "qat_digits_output.npy"), y.numpy().astype(np.float32))
    np.save(os.path.join(out, "qat_digits_labels.npy"), yte[:BATCH].numpy().astype(np.int64))
    step = float(model.fc.activation_post_process.scale)
    return {"acc_fp32": acc_fp32, "acc_qat": acc_qat, "test_samples": len(xte), "output_step": step}


# ---- hand-built QDQ graph ------------------------------------------------------------------------

def quant(x, s, zp, lo, hi):
    return np.clip(np.round(x / s) + zp, lo, hi)


def hand_graph(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(7)
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def q(x, y, s, zp, dtype=np.uint8):
        nodes.append(helper.make_node("QuantizeLinear", [x, const(y + "_s", np.array(s, np.float32)),
                                                          const(y + "_zp", np.array(zp, dtype))], [y]))

    def dq(x, y, s, zp, dtype=np.uint8, axis=None):
        kw = {} if axis is None else {"axis": axis}
        nodes.append(helper.make_node("DequantizeLinear", [x, const(y + "_s", np.asarray(s, np.float32)),
                                                            const(y + "_zp", np.asarray(zp, dtype))], [y], **kw))

    def weight(name, shape):
        w = rng.uniform(-1, 1, shape).astype(np.float32) * 0.4
        axes = tuple(range(1, len(shape)))
        s = (np.abs(w).max(axis=axes) / 127.0).astype(np.float32)
        wq = np.clip(np.round(w / s.reshape((-1,) + (1,) * (len(shape) - 1))), -127, 127).astype(np.int8)
        const(name + "_q", wq)
        dq(name + "_q", name, s, np.zeros(shape[0], np.int8), np.int8, axis=0)
        return wq.astype(np.float64) * s.reshape((-1,) + (1,) * (len(shape) - 1))

    def bias(name, n, sx, sw):
        b = rng.uniform(-0.3, 0.3, n)
        s = (sx * sw).astype(np.float32)
        bq = np.round(b / s).astype(np.int32)
        const(name + "_q", bq)
        dq(name + "_q", name, s, np.zeros(n, np.int32), np.int32, axis=0)
        return bq.astype(np.float64) * s.astype(np.float64)

    N, C, H, W = 2, 3, 10, 10
    s_in, zp_in = 0.02, 128
    s1, s2, s3, s4, s5, s6 = 0.03, 0.025, 0.05, 0.02, 0.03, 0.04
    q("input", "xq", s_in, zp_in)
    dq("xq", "x", s_in, zp_in)
    w1 = weight("w1", (8, 3, 3, 3))
    b1 = bias("b1", 8, s_in, np.abs(w1).reshape(8, -1).max(1) / 127.0)
    nodes.append(helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["c1"], ["r1"]))
    q("r1", "r1q", s1, 0)
    dq("r1q", "r1d", s1, 0)
    nodes.append(helper.make_node("MaxPool", ["r1d"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]))
    q("mp", "mpq", s1, 0)
    dq("mpq", "mpd", s1, 0)
    w2 = weight("w2", (8, 8, 1, 1))
    nodes.append(helper.make_node("Conv", ["mpd", "w2"], ["c2"]))
    q("c2", "c2q", s2, 100)
    dq("c2q", "c2d", s2, 100)
    nodes.append(helper.make_node("Add", ["c2d", "mpd"], ["sum"]))
    q("sum", "sumq", s3, 60)
    dq("sumq", "sumd", s3, 60)
    nodes.append(helper.make_node("Sigmoid", ["sumd"], ["sig"]))   # a float op on a DQ output
    nodes.append(helper.make_node("GlobalAveragePool", ["sumd"], ["gap"]))
    q("gap", "gapq", s4, 20)
    dq("gapq", "gapd", s4, 20)
    nodes.append(helper.make_node("Flatten", ["gapd"], ["flat"], axis=1))
    w3 = weight("w3", (5, 8))
    b3 = bias("b3", 5, s4, np.abs(w3).max(1) / 127.0)
    nodes.append(helper.make_node("Gemm", ["flat", "w3", "b3"], ["fc"], transB=1))
    q("fc", "fcq", s5, 128)
    dq("fcq", "logits", s5, 128)
    graph = helper.make_graph(nodes, "qdq_hand",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [N, C, H, W])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [N, 5]),
                               helper.make_tensor_value_info("sig", TensorProto.FLOAT, [N, 8, 5, 5])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "qdq_hand.onnx"))

    # numpy / float64 simulation
    x = rng.uniform(-2, 2, (N, C, H, W)).astype(np.float32)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    xd = (quant(x.astype(np.float64), s_in, zp_in, 0, 255) - zp_in) * s_in
    c1 = F.conv2d(t(xd), t(w1), t(b1), padding=1).numpy()
    r1 = (quant(np.maximum(c1, 0), s1, 0, 0, 255)) * s1
    mp = F.max_pool2d(t(r1), 2, 2).numpy()
    mp = quant(mp, s1, 0, 0, 255) * s1
    c2 = F.conv2d(t(mp), t(w2)).numpy()
    c2 = (quant(c2, s2, 100, 0, 255) - 100) * s2
    sm = (quant(c2 + mp, s3, 60, 0, 255) - 60) * s3
    sig = 1.0 / (1.0 + np.exp(-sm))
    gap = sm.mean(axis=(2, 3))
    gap = (quant(gap, s4, 20, 0, 255) - 20) * s4
    fc = gap @ w3.T + b3
    logits = (quant(fc, s5, 128, 0, 255) - 128) * s5
    np.save(os.path.join(out, "qdq_hand_input.npy"), x)
    np.save(os.path.join(out, "qdq_hand_output.npy"), logits.astype(np.float32))
    np.save(os.path.join(out, "qdq_hand_sigmoid.npy"), sig.astype(np.float32))
    return {"hand_output_step": s5, "hand_sum_step": s3, "unused_scale": s6}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("POCKET_FIXTURE_THREADS", "1")))
    t0 = time.time()
    info = {"generator": "scripts/export_qdq.py", "torch": torch.__version__, "seed": SEED}
    info.update(hand_graph(args.out))
    info.update(qat_digits(args.out))
    with open(os.path.join(args.out, "qdq_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("qdq fixtures: digits fp32 %.4f, QAT %.4f on %d test digits; hand graph; %.1fs" % (
        info["acc_fp32"], info["acc_qat"], info["test_samples"], time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
