#!/usr/bin/python3
"""Writes a tiny text classifier for the pocket-sentiment CLI tests: DIR/sentiment.onnx (input_ids,
attention_mask [1, seq] int64 with a symbolic seq when --dynamic, else seq 8 -> logits [1, 2] =
sum over unmasked tokens of a word embedding), DIR/vocab.txt and DIR/labels.txt.
"good" pushes POSITIVE, "bad" NEGATIVE, [PAD] heavily NEGATIVE (so an unmasked pad would show).

    make_sentiment_model.py DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "##s", "!", ","]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    emb = np.zeros((len(VOCAB), 2), np.float32)
    emb[0] = [50, 0]   # [PAD]
    emb[5] = [0, 2]    # good
    emb[6] = [2, 0]    # bad
    emb[8] = [0, 0.5]  # ##s
    seq = 8
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [1, seq]) for n in ("input_ids", "attention_mask")]
    nodes = [
        helper.make_node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], ["we"]),
        helper.make_node("Unsqueeze", ["attention_mask"], ["m3"], axes=[2]),
        helper.make_node("Cast", ["m3"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["we", "mf"], ["hm"]),
        helper.make_node("ReduceSum", ["hm"], ["logits"], axes=[1], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "tiny_sentiment", inputs,
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
                              [numpy_helper.from_array(emb, "embeddings.word_embeddings.weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "sentiment.onnx"))
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(out, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("NEGATIVE\nPOSITIVE\n")
    with open(os.path.join(out, "bad_vocab.txt"), "w", encoding="utf-8") as f:
        f.write("[PAD]\n[UNK]\n[SEP]\ngood\n")


if __name__ == "__main__":
    main()
