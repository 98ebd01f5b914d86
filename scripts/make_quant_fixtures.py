#!/usr/bin/python3
"""Evaluation and calibration inputs for the quantization accuracy tests (issue #5), made from real
data that Debian ships (no network).

Usage:
  make_quant_fixtures.py --out DIR [--images N] [--image-calibration N]
                         [--vocab VOCAB.txt] [--sentences N] [--text-calibration N] [--seq 32]

(a) images, for the ImageNet classifiers (MobileNetV3-Small): random crops of the real photos in
    scikit-image (astronaut, coffee, chelsea, rocket, camera, cat, hubble_deep_field, immunohistochemistry,
    motorcycle_left) and scikit-learn (china, flower): crop side 20-100 % of the shorter side,
    random aspect 3/4..4/3, horizontal flips, brightness / contrast / saturation jitter, resized to
    224x224 (bilinear, antialiased), ImageNet mean/std normalised, NCHW float32. Fixed seeds;
    the evaluation and calibration crops come from different random streams.
      DIR/images/eval_x.npy          [N, 3, 224, 224] float32 (N = --images, default 500)
      DIR/images/calib/NNNN.npy      [1, 3, 224, 224] float32 (--image-calibration, default 96)
(b) text, for DistilBERT (--vocab: the fixture's WordPiece vocab.txt): sentences of 4-28 words
    drawn (frequency-weighted, seeded) from a word list (/usr/share/dict/words when installed,
    else the words of the English documentation under /usr/share/doc), with punctuation,
    tokenised by BERT's basic tokenizer + greedy WordPiece (scripts/export_distilbert.py's
    reference tokenizer), [CLS] ... [SEP], padded to --seq (default 32):
      DIR/text/input_ids.npy         [N, seq] int64 (N = --sentences, default 500)
      DIR/text/attention_mask.npy    [N, seq] int64
      DIR/text/sentences.txt         the sentences, one per line
      DIR/text/calib/input_ids/NNNN.npy, DIR/text/calib/attention_mask/NNNN.npy   [1, seq] int64
DIR/manifest.json describes what was written.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE_SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)


# ------------------------------------------------------------------------------------------------
# Images


def photos():
    import skimage.data
    from sklearn.datasets import load_sample_image
    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "hubble_deep_field",
             "immunohistochemistry", "motorcycle_left"]
    out = []
    for n in names:
        fn = getattr(skimage.data, n, None)
        if fn is None:
            continue
        try:
            im = np.asarray(fn())
        except Exception as e:  # noqa: BLE001 - a data file missing from this install
            print(f"make_quant_fixtures: skimage.data.{n} unavailable: {e}", file=sys.stderr)
            continue
        if im.ndim == 2:
            im = np.stack([im] * 3, axis=-1)
        out.append((n, im[:, :, :3]))
    for n in ("china.jpg", "flower.jpg"):
        out.append((n, np.asarray(load_sample_image(n))[:, :, :3]))
    return out


def make_crops(pool, count, seed):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    tensors = [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
               for _, im in pool]
    out = np.empty((count, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    sources = []
    for k in range(count):
        j = int(rng.integers(len(tensors)))
        img = tensors[j]
        _, _, h, w = img.shape
        side = min(h, w) * rng.uniform(0.2, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch = int(min(h, max(16, side / np.sqrt(aspect))))
        cw = int(min(w, max(16, side * np.sqrt(aspect))))
        top = int(rng.integers(h - ch + 1))
        left = int(rng.integers(w - cw + 1))
        crop = img[:, :, top:top + ch, left:left + cw]
        crop = F.interpolate(crop, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False,
                             antialias=max(ch, cw) > IMAGE_SIZE)
        if rng.random() < 0.5:
            crop = crop.flip(3)
        # Colour jitter: brightness, contrast, saturation (torchvision ColorJitter's formulas).
        crop = crop * rng.uniform(0.7, 1.3)
        grey = (0.299 * crop[:, 0] + 0.587 * crop[:, 1] + 0.114 * crop[:, 2]).unsqueeze(1)
        c = rng.uniform(0.7, 1.3)
        crop = (crop - grey.mean()) * c + grey.mean()
        s = rng.uniform(0.7, 1.3)
        crop = (crop - grey) * s + grey
        crop = crop.clamp(0, 1).numpy()
        out[k] = ((crop - MEAN) / STD)[0]
        sources.append(pool[j][0])
    return out, sources


def write_images(out_dir, count, calib_count):
    d = os.path.join(out_dir, "images")
    os.makedirs(os.path.join(d, "calib"), exist_ok=True)
    pool = photos()
    x, src = make_crops(pool, count, seed=1)
    np.save(os.path.join(d, "eval_x.npy"), x)
    c, _ = make_crops(pool, calib_count, seed=2)
    for k in range(calib_count):
        np.save(os.path.join(d, "calib", f"{k:04d}.npy"), np.ascontiguousarray(c[k:k + 1]))
    hist = collections.Counter(src)
    return dict(eval=count, calibration=calib_count, photos=[n for n, _ in pool], eval_sources=dict(hist),
                shape=[count, 3, IMAGE_SIZE, IMAGE_SIZE], normalisation=dict(mean=MEAN.ravel().tolist(),
                                                                             std=STD.ravel().tolist()))


# ------------------------------------------------------------------------------------------------
# Text


def read_text(path, limit):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="ignore") as f:
                return f.read(limit)
        with open(path, encoding="utf-8", errors="ignore") as f:
            return f.read(limit)
    except OSError:
        return ""


def word_list(max_words=6000):
    """(words, weights): a word list with frequency weights, from the dictionary or Debian's docs."""
    if os.path.exists("/usr/share/dict/words"):
        words = [w.strip() for w in read_text("/usr/share/dict/words", 10_000_000).splitlines()]
        words = sorted({w.lower() for w in words if re.fullmatch(r"[A-Za-z]{2,12}", w)})
        rng = np.random.default_rng(3)
        words = list(rng.choice(words, size=min(max_words, len(words)), replace=False))
        return "/usr/share/dict/words", words, np.ones(len(words)) / len(words)
    files = sorted(p for p in glob.glob("/usr/share/doc/**/*", recursive=True)
                   if os.path.isfile(p) and re.search(r"(readme|news|changelog)", os.path.basename(p), re.I))
    counts = collections.Counter()
    total = 0
    for p in files:
        t = read_text(p, 200_000)
        t = re.sub(r"<[^>]*>|\S+@\S+|https?://\S+", " ", t)
        ws = re.findall(r"\b[a-z]{2,12}\b", t)
        counts.update(ws)
        total += len(t)
        if total > 6_000_000:
            break
    common = [(w, c) for w, c in counts.most_common(max_words) if c >= 3]
    words = [w for w, _ in common]
    weights = np.array([c for _, c in common], dtype=np.float64) ** 0.75
    return f"words of {len(files)} /usr/share/doc files (readme/news/changelog)", words, weights / weights.sum()


def make_sentences(words, weights, count, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.integers(4, 29))
        ws = list(rng.choice(words, size=n, p=weights))
        for i in range(1, n - 1):
            r = rng.random()
            if r < 0.06:
                ws[i] += ","
            elif r < 0.075:
                ws[i] += ";"
        ws[0] = ws[0].capitalize()
        out.append(" ".join(ws) + str(rng.choice([".", ".", ".", "!", "?"])))
    return out


def write_text(out_dir, vocab_path, count, calib_count, seq):
    sys.path.insert(0, HERE)
    from export_distilbert import encode_batch  # the fixture's reference WordPiece tokenizer
    with open(vocab_path, encoding="utf-8") as f:
        vocab = {l.rstrip("\n"): i for i, l in enumerate(f)}
    source, words, weights = word_list()
    d = os.path.join(out_dir, "text")
    for sub in ("input_ids", "attention_mask"):
        os.makedirs(os.path.join(d, "calib", sub), exist_ok=True)
    sents = make_sentences(words, weights, count, seed=4)
    ids, mask = encode_batch(vocab, sents, seq)
    np.save(os.path.join(d, "input_ids.npy"), ids)
    np.save(os.path.join(d, "attention_mask.npy"), mask)
    with open(os.path.join(d, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sents) + "\n")
    csents = make_sentences(words, weights, calib_count, seed=5)
    cids, cmask = encode_batch(vocab, csents, seq)
    for k in range(calib_count):
        np.save(os.path.join(d, "calib", "input_ids", f"{k:04d}.npy"), np.ascontiguousarray(cids[k:k + 1]))
        np.save(os.path.join(d, "calib", "attention_mask", f"{k:04d}.npy"), np.ascontiguousarray(cmask[k:k + 1]))
    unk = int((ids == vocab["[UNK]"]).sum())
    return dict(sentences=count, calibration=calib_count, seq=seq, word_source=source, words=len(words),
                tokens_mean=float(mask.sum(1).mean()), truncated=int((mask[:, -1] == 1).sum()), unk_tokens=unk,
                vocab=os.path.abspath(vocab_path))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--image-calibration", type=int, default=96)
    ap.add_argument("--vocab", help="WordPiece vocab.txt (DistilBERT fixture); no text without it")
    ap.add_argument("--sentences", type=int, default=500)
    ap.add_argument("--text-calibration", type=int, default=64)
    ap.add_argument("--seq", type=int, default=32)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest = {}
    if a.images > 0:
        manifest["images"] = write_images(a.out, a.images, a.image_calibration)
        print(f"make_quant_fixtures: {a.images} eval crops, {a.image_calibration} calibration crops", flush=True)
    if a.vocab and a.sentences > 0:
        manifest["text"] = write_text(a.out, a.vocab, a.sentences, a.text_calibration, a.seq)
        t = manifest["text"]
        print(f"make_quant_fixtures: {a.sentences} sentences ({t['words']} words from {t['word_source']}), "
              f"{t['tokens_mean']:.1f} tokens on average, {t['unk_tokens']} [UNK]", flush=True)
    tmp = os.path.join(a.out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "manifest.json"))


if __name__ == "__main__":
    main()
