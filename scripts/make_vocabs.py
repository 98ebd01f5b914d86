#!/usr/bin/python3
"""Synthetic vocabularies for the seeded transformer fixtures (no network, no extra packages).

The seeded DistilBERT and Whisper models need a tokenizer vocabulary that has the layout of the
real ones, so that the tokenizers and the end-to-end pipelines can be tested on real English text:

- bert_vocab(): a BERT WordPiece vocab.txt of 30522 lines: [PAD]=0, [unused0..98]=1..99, [UNK]=100,
  [CLS]=101, [SEP]=102, [MASK]=103, [unused99..993]=104..998 (as in bert-base-uncased), then single
  characters (ASCII, Latin-1 letters, Greek, a block of CJK ideographs), their ##continuations,
  ##word-pieces (frequent word endings) and whole lower-cased words by frequency.
- tiktoken_ranks(): byte-level BPE ranks (256 byte tokens + merges learned by BPE on the same
  English text) up to 50257 ranks, the layout of Whisper's multilingual.tiktoken (whose special
  tokens start at 50257: <|endoftext|> .. timestamps, n_vocab 51865).

The English text comes from this machine: /usr/share/dict/words when present, else Debian's
documentation (/usr/share/doc: changelogs, READMEs, licences) and the docstrings/comments of
Python's standard library. The corpus is read in sorted file order, so the output is deterministic
for a given machine image.

Usage: make_vocabs.py --out DIR [--bert] [--tiktoken]   (both when neither flag is given)
"""
import argparse
import base64
import collections
import glob
import gzip
import heapq
import os
import re
import sys

BERT_VOCAB_SIZE = 30522
TIKTOKEN_BASE_RANKS = 50257

# GPT-2 pre-tokenization, written for Python's `re` (no \p{L}: letters are [^\W\d_]).
_PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def _read_text(path, limit):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(limit)
        else:
            with open(path, "rb") as f:
                data = f.read(limit)
    except OSError:
        return ""
    if b"\0" in data[:4096]:
        return ""
    return data.decode("utf-8", errors="ignore")


def english_corpus(max_chars=24_000_000):
    """Concatenated English text from this machine (deterministic order), at most max_chars."""
    parts = []
    total = 0
    if os.path.exists("/usr/share/dict/words"):
        t = _read_text("/usr/share/dict/words", 10_000_000)
        parts.append(t)
        total += len(t)
    files = []
    for pat in ("/usr/share/doc/**/*",):
        files += [p for p in glob.glob(pat, recursive=True) if os.path.isfile(p)]
    files = sorted(p for p in files
                   if re.search(r"(changelog|readme|copyright|news|\.txt|\.md|\.rst|\.html)", p, re.I))
    for p in files:
        if total >= max_chars * 2 // 3:
            break
        t = _read_text(p, 400_000)
        if p.endswith(".html") or p.endswith(".html.gz"):
            t = re.sub(r"<[^>]*>", " ", t)
        parts.append(t)
        total += len(t)
    # Python's standard library: docstrings and comments only (prose, not code).
    doc_re = re.compile(r'"""(.*?)"""|#([^\n]*)', re.S)
    for p in sorted(glob.glob("/usr/lib/python3.*/**/*.py", recursive=True)):
        if total >= max_chars:
            break
        t = _read_text(p, 400_000)
        prose = "\n".join((m.group(1) or m.group(2) or "") for m in doc_re.finditer(t))
        parts.append(prose)
        total += len(prose)
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------
# BERT WordPiece vocabulary


def bert_vocab(corpus):
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [f"[unused{i}]" for i in range(99, 994)]
    assert len(vocab) == 999
    seen = set(vocab)

    def add(tok):
        if tok not in seen and len(vocab) < BERT_VOCAB_SIZE:
            seen.add(tok)
            vocab.append(tok)

    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    chars += [chr(c) for c in range(0xA1, 0x100) if not chr(c).isupper() and chr(c) != "\xad"]
    chars += [chr(c) for c in range(0x3B1, 0x3CA)]  # Greek lower case
    chars += [chr(c) for c in range(0x430, 0x450)]  # Cyrillic lower case
    chars += [chr(c) for c in range(0x3041, 0x3097)]  # Hiragana
    chars += [chr(c) for c in range(0x4E00, 0x4E00 + 600)]  # CJK unified ideographs (first 600)
    for c in chars:
        add(c)
    for c in chars:
        if c.isalnum() and ord(c) < 0x3000:
            add("##" + c)

    words = re.findall(r"[a-z]+", corpus.lower())
    counts = collections.Counter(w for w in words if 2 <= len(w) <= 18)
    ranked = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    # Word-pieces: frequent endings of frequent words (##s, ##ing, ##ed, ##tion, ...).
    suffix = collections.Counter()
    for w in ranked[:40000]:
        for n in range(2, 6):
            if len(w) > n + 1:
                suffix[w[-n:]] += counts[w]
    pieces = [s for s, _ in sorted(suffix.items(), key=lambda kv: (-kv[1], kv[0]))[:2500]]
    for p in pieces:
        add("##" + p)
    for w in ranked:
        add(w)
    n = 0
    while len(vocab) < BERT_VOCAB_SIZE:  # tiny corpus: pad with distinct unused entries
        add(f"[unused{994 + n}]")
        n += 1
    return vocab


# ------------------------------------------------------------------------------------------------
# Byte-level BPE (tiktoken ranks)


def train_bpe(corpus, n_ranks=TIKTOKEN_BASE_RANKS, log=None):
    """Returns a list of byte strings; index = rank. 0..255 are the single bytes."""
    word_counts = collections.Counter(_PRETOKENIZE.findall(corpus))
    words = []
    counts = []
    for w, c in word_counts.items():
        b = w.encode("utf-8")
        if len(b) >= 2:
            words.append(list(b))
            counts.append(c)
    tokens = [bytes([i]) for i in range(256)]
    token_id = {t: i for i, t in enumerate(tokens)}
    pair_count = collections.defaultdict(int)
    pair_where = collections.defaultdict(set)
    for wi, w in enumerate(words):
        c = counts[wi]
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += c
            pair_where[(a, b)].add(wi)
    heap = [(-c, tokens[p[0]] + tokens[p[1]], p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    while len(tokens) < n_ranks and heap:
        negc, _, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue
        merged = tokens[pair[0]] + tokens[pair[1]]
        if merged in token_id:  # the same bytes reached through another split: skip the pair
            pair_count[pair] = 0
            continue
        new_id = len(tokens)
        tokens.append(merged)
        token_id[merged] = new_id
        touched = set()
        for wi in list(pair_where.pop(pair, ())):
            w = words[wi]
            c = counts[wi]
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] -= c
                touched.add((a, b))
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += c
                pair_where[(a, b)].add(wi)
                touched.add((a, b))
        pair_count[pair] = 0
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, tokens[p[0]] + tokens[p[1]], p))
        if log and len(tokens) % 10000 == 0:
            log(f"bpe: {len(tokens)} ranks")
    # Corpus exhausted before n_ranks (not expected): fill with distinct never-merged byte strings
    # so that the special tokens still start at n_ranks.
    n = 0
    while len(tokens) < n_ranks:
        t = f"<|unused_rank_{n}|>".encode()
        n += 1
        if t not in token_id:
            token_id[t] = len(tokens)
            tokens.append(t)
    return tokens


def write_tiktoken(tokens, path):
    with open(path, "w") as f:
        for rank, t in enumerate(tokens):
            f.write(f"{base64.b64encode(t).decode()} {rank}\n")


def write_bert_vocab(vocab, path):
    with open(path, "w", encoding="utf-8") as f:
        for t in vocab:
            f.write(t + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bert", action="store_true")
    ap.add_argument("--tiktoken", action="store_true")
    a = ap.parse_args()
    both = not a.bert and not a.tiktoken
    os.makedirs(a.out, exist_ok=True)
    corpus = english_corpus()
    log = lambda m: print(m, file=sys.stderr)
    log(f"corpus: {len(corpus)} characters")
    if a.bert or both:
        write_bert_vocab(bert_vocab(corpus), os.path.join(a.out, "vocab.txt"))
    if a.tiktoken or both:
        write_tiktoken(train_bpe(corpus, log=log), os.path.join(a.out, "multilingual.tiktoken"))


if __name__ == "__main__":
    main()
