#!/usr/bin/python3
"""Trains a small CNN on scikit-learn's handwritten digits (real data shipped by Debian's
python3-sklearn) and exports it for the quantization accuracy tests (issue #5).

Usage:
  train_digits.py --out DIR [--epochs N] [--calibration N]

Data: sklearn.datasets.load_digits (1797 8x8 images, 16 grey levels), pixels scaled to [0, 1],
a fixed stratified split (450 test images, seed 0): 1347 training / 450 test images.

Model (everything the static int8 form runs in int8): input [1, 1, 8, 8]
  Conv 3x3 16 + BatchNorm + ReLU, Conv 3x3 32 + BatchNorm + ReLU,
  Conv 3x3 stride 2 64 + BatchNorm + ReLU, a residual block (Conv 3x3 64 + BatchNorm + ReLU,
  Conv 3x3 64 + BatchNorm, Add, ReLU), global average pool, Linear 10.
Seeded, trained with Adam (batch 64, 40 epochs) on one thread in ~15 s of CPU time to ~98-99 %
test accuracy.

DIR receives
  digits.onnx            opset 13, input "input" [1, 1, 8, 8] float32, output "logits" [1, 10]
  test_x.npy             [450, 1, 8, 8] float32 test images
  test_y.npy             [450] int64 labels
  torch_logits.npy       [450, 10] float32 PyTorch's logits of the test images
  calib/NNNN.npy         [1, 1, 8, 8] float32 calibration samples from the TRAINING set
  manifest.json          split sizes, PyTorch test accuracy, training time, seed
"""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 0
TEST_SIZE = 450
OPSET = 13


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.conv5 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn5 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        y = F.relu(self.bn4(self.conv4(x)))
        y = self.bn5(self.conv5(y))
        x = F.relu(x + y)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def split(x, y):
    from sklearn.model_selection import train_test_split
    return train_test_split(x, y, test_size=TEST_SIZE, stratify=y, random_state=SEED)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--calibration", type=int, default=128, help="calibration samples (training set)")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "calib"), exist_ok=True)

    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = split(x, y)

    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds overhead
    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            xb = xt[idx]
            # Light augmentation: a random shift of up to one pixel.
            dx, dy = [int(v) for v in torch.randint(-1, 2, (2,), generator=gen)]
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    train_s = time.time() - t0

    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x_te)).numpy().astype(np.float32)
    acc = float((logits.argmax(1) == y_te).mean())

    onnx_path = os.path.join(a.out, "digits.onnx")
    torch.onnx.export(model, torch.from_numpy(x_te[:1]), onnx_path, opset_version=OPSET,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    np.save(os.path.join(a.out, "test_x.npy"), np.ascontiguousarray(x_te, dtype=np.float32))
    np.save(os.path.join(a.out, "test_y.npy"), y_te.astype(np.int64))
    np.save(os.path.join(a.out, "torch_logits.npy"), logits)
    rng = np.random.default_rng(SEED)
    pick = rng.choice(len(x_tr), size=min(a.calibration, len(x_tr)), replace=False)
    for k, i in enumerate(sorted(pick)):
        np.save(os.path.join(a.out, "calib", f"{k:04d}.npy"), np.ascontiguousarray(x_tr[i:i + 1], dtype=np.float32))
    manifest = dict(dataset="sklearn.datasets.load_digits", train=len(x_tr), test=len(x_te), seed=SEED,
                    epochs=a.epochs, train_seconds=round(train_s, 2), torch_test_accuracy=acc,
                    calibration=len(pick), onnx="digits.onnx", input="input", output="logits")
    tmp = os.path.join(a.out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "manifest.json"))
    print(f"digits: {len(x_tr)} train / {len(x_te)} test, trained {a.epochs} epochs in {train_s:.1f}s, "
          f"PyTorch test accuracy {100 * acc:.2f} %")


if __name__ == "__main__":
    main()
