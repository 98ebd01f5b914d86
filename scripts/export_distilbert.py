#!/usr/bin/python3
"""Export DistilBERT for sequence classification to ONNX, with PyTorch reference outputs.

DistilBertForSequenceClassification (distilbert-base-uncased config: 6 layers, dim 768, 12 heads,
FFN 3072, vocab 30522, 512 positions, 2 labels) re-implemented in plain PyTorch with Hugging Face's
parameter names and forward, so that a real checkpoint (pytorch_model.bin, e.g.
distilbert-base-uncased-finetuned-sst-2-english) loads with strict=True. Without --checkpoint the
weights are seeded (Hugging Face init: normal(0, 0.02), LayerNorm 1/0, zero biases; the classifier
head is scaled up so that the logits are not degenerate) and a synthetic BERT vocab.txt is written.

Writes into --out:
  model.onnx                 inputs input_ids, attention_mask [batch, seq] int64 (dynamic axes
                             batch, seq), output logits [batch, 2]; opset 14 by default
                             (LayerNorm and GELU decomposed)
  vocab.txt, labels.txt      WordPiece vocabulary (30522 lines) and NEGATIVE / POSITIVE
  ref_seq128_input_ids.npy, ref_seq128_attention_mask.npy, ref_seq128_logits.npy
                             batch 2, seq 128: row 0 fills all 128 positions, row 1 is short and
                             padded ([PAD]=0 ids, mask 0)
  ref_seq16_*.npy            the same at seq 16 (lengths 16 and 7)
  ref_texts.json             the texts, their WordPiece ids (greedy longest match, this script's
                             own reference tokenizer) and the reference logits per text
  manifest.json              what was written, the config, the seed, max|logits|
Usage: export_distilbert.py --out DIR [--seed 0] [--checkpoint FILE] [--opset 14]
"""
import argparse
import json
import math
import os
import sys
import unicodedata

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vocabs  # noqa: E402

CONFIG = dict(vocab_size=30522, max_position_embeddings=512, n_layers=6, n_heads=12, dim=768,
              hidden_dim=3072, num_labels=2, initializer_range=0.02, layer_norm_eps=1e-12)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=0)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(0.1)
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)),
                             persistent=False)

    def forward(self, input_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        embeddings = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c["n_heads"]
        self.dim = c["dim"]
        self.dropout = nn.Dropout(0.1)
        self.q_lin = nn.Linear(self.dim, self.dim)
        self.k_lin = nn.Linear(self.dim, self.dim)
        self.v_lin = nn.Linear(self.dim, self.dim)
        self.out_lin = nn.Linear(self.dim, self.dim)

    def forward(self, query, key, value, mask):
        bs, q_length, dim = query.size()
        k_length = key.size(1)
        dim_per_head = self.dim // self.n_heads
        mask_reshp = (bs, 1, 1, k_length)

        def shape(x):
            return x.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

        def unshape(x):
            return x.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dim_per_head)

        q = shape(self.q_lin(query))
        k = shape(self.k_lin(key))
        v = shape(self.v_lin(value))
        q = q / math.sqrt(dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (mask == 0).view(mask_reshp).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(torch.finfo(scores.dtype).min))
        weights = nn.functional.softmax(scores, dim=-1)
        weights = self.dropout(weights)
        context = torch.matmul(weights, v)
        return self.out_lin(unshape(context))


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dropout = nn.Dropout(0.1)
        self.lin1 = nn.Linear(c["dim"], c["hidden_dim"])
        self.lin2 = nn.Linear(c["hidden_dim"], c["dim"])
        self.activation = nn.GELU()

    def forward(self, x):
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, x, attn_mask):
        sa_output = self.sa_layer_norm(self.attention(x, x, x, attn_mask) + x)
        return self.output_layer_norm(self.ffn(sa_output) + sa_output)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])

    def forward(self, x, attn_mask):
        for layer_module in self.layer:
            x = layer_module(x, attn_mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask):
        return self.transformer(self.embeddings(input_ids), attention_mask)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c=CONFIG):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c["dim"], c["dim"])
        self.classifier = nn.Linear(c["dim"], c["num_labels"])
        self.dropout = nn.Dropout(0.2)

    def forward(self, input_ids, attention_mask):
        hidden_state = self.distilbert(input_ids, attention_mask)
        pooled_output = hidden_state[:, 0]
        pooled_output = nn.ReLU()(self.pre_classifier(pooled_output))
        return self.classifier(self.dropout(pooled_output))


def seeded_init(model, seed):
    torch.manual_seed(seed)
    std = CONFIG["initializer_range"]
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, std)
            m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(0.0, std)
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
    # With std 0.02 everywhere the logits are ~0.1 and nearly input independent; a wider head
    # gives logits of a few units that differ between texts.
    model.pre_classifier.weight.data.normal_(0.0, 0.05)
    model.classifier.weight.data.normal_(0.0, 0.1)


def load_checkpoint(model, path):
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    # Older Hugging Face checkpoints store the constant position_ids buffer; it is not a weight.
    sd = {k: v for k, v in sd.items() if not k.endswith("embeddings.position_ids")}
    model.load_state_dict(sd, strict=True)


# ------------------------------------------------------------------------------------------------
# Reference WordPiece tokenizer (BERT basic tokenization + greedy longest match), for ref_texts.json


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if _is_cjk(cp):
            out.append(" " + ch + " ")
        elif ch.isspace():
            out.append(" ")
        else:
            out.append(ch)
    words = []
    for w in "".join(out).split():
        w = unicodedata.normalize("NFD", w.lower())
        w = "".join(c for c in w if unicodedata.category(c) != "Mn")
        cur = ""
        for ch in w:
            if _is_punct(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece(text, vocab, max_chars=100):
    ids = []
    for w in basic_tokenize(text):
        if len(w) > max_chars:
            ids.append(vocab["[UNK]"])
            continue
        start, sub = 0, []
        while start < len(w):
            end = len(w)
            cur = None
            while start < end:
                piece = ("##" if start > 0 else "") + w[start:end]
                if piece in vocab:
                    cur = vocab[piece]
                    break
                end -= 1
            if cur is None:
                sub = [vocab["[UNK]"]]
                break
            sub.append(cur)
            start = end
        ids += sub
    return ids


TEXTS = [
    "The film was a delight from beginning to end, with warm performances and a clever script "
    "that never talks down to its audience. I laughed, I cried, and I would gladly watch it again. "
    "The photography is beautiful, the music fits every scene, and even the smallest parts are "
    "played with care. It is rare to find a comedy this generous; the director trusts the actors, "
    "and the actors trust the story. Highly recommended for anyone who loves cinema.",
    "A dull, lifeless movie; I wanted my money back.",
    "Not bad at all!",
    "Terrible acting and a boring plot.",
]


def encode_batch(vocab, texts, seq):
    ids = np.zeros((len(texts), seq), dtype=np.int64)
    mask = np.zeros((len(texts), seq), dtype=np.int64)
    for r, t in enumerate(texts):
        toks = [vocab["[CLS]"]] + wordpiece(t, vocab)[: seq - 2] + [vocab["[SEP]"]]
        ids[r, : len(toks)] = toks
        mask[r, : len(toks)] = 1
    return ids, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default=None, help="pytorch_model.bin (Hugging Face state dict)")
    ap.add_argument("--vocab", default=None, help="vocab.txt to copy (default: synthetic, or none with --checkpoint)")
    ap.add_argument("--opset", type=int, default=14)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    model = DistilBertForSequenceClassification()
    if a.checkpoint:
        load_checkpoint(model, a.checkpoint)
    else:
        seeded_init(model, a.seed)
    model.eval()

    vocab_path = os.path.join(a.out, "vocab.txt")
    if a.vocab:
        with open(a.vocab, encoding="utf-8") as f:
            vocab_list = [l.rstrip("\n") for l in f]
    else:
        vocab_list = make_vocabs.bert_vocab(make_vocabs.english_corpus())
    make_vocabs.write_bert_vocab(vocab_list, vocab_path)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    with open(os.path.join(a.out, "labels.txt"), "w") as f:
        f.write("NEGATIVE\nPOSITIVE\n")

    # Row 0: the long text repeated up to 128 positions; row 1: a short padded sentence.
    long_text = " ".join([TEXTS[0]] * 3)
    refs = {}
    for seq, texts in ((128, [long_text, TEXTS[1]]), (16, [TEXTS[0], TEXTS[2]])):
        ids, mask = encode_batch(vocab, texts, seq)
        with torch.no_grad():
            logits = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy().astype(np.float32)
        np.save(os.path.join(a.out, f"ref_seq{seq}_input_ids.npy"), ids)
        np.save(os.path.join(a.out, f"ref_seq{seq}_attention_mask.npy"), mask)
        np.save(os.path.join(a.out, f"ref_seq{seq}_logits.npy"), logits)
        refs[seq] = dict(lengths=mask.sum(1).tolist(), logits=logits.tolist())
        print(f"seq {seq}: lengths {mask.sum(1).tolist()} logits {logits.tolist()}")

    text_refs = []
    for t in TEXTS:
        toks = [vocab["[CLS]"]] + wordpiece(t, vocab)[:126] + [vocab["[SEP]"]]
        ids = torch.tensor([toks])
        with torch.no_grad():
            logits = model(ids, torch.ones_like(ids))[0].tolist()
        text_refs.append(dict(text=t, input_ids=toks, logits=logits))
    with open(os.path.join(a.out, "ref_texts.json"), "w") as f:
        json.dump(text_refs, f, indent=1, ensure_ascii=False)

    onnx_path = os.path.join(a.out, "model.onnx")
    ids = torch.from_numpy(np.load(os.path.join(a.out, "ref_seq16_input_ids.npy")))
    mask = torch.from_numpy(np.load(os.path.join(a.out, "ref_seq16_attention_mask.npy")))
    torch.onnx.export(model, (ids, mask), onnx_path, opset_version=a.opset,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                    "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    manifest = dict(model="distilbert-base-uncased (DistilBertForSequenceClassification)", config=CONFIG,
                    seed=None if a.checkpoint else a.seed, checkpoint=a.checkpoint, opset=a.opset,
                    onnx="model.onnx", inputs=["input_ids", "attention_mask"], outputs=["logits"],
                    labels=["NEGATIVE", "POSITIVE"], op_types=ops, references=refs,
                    tolerance="max|out-ref| <= 1e-3 * max|ref|")
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {a.out}: {len(m.graph.node)} ONNX nodes, op types {ops}")


if __name__ == "__main__":
    main()
