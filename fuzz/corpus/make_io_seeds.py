#!/usr/bin/python3
"""Writes the small committed seed corpora of the I/O fuzz targets (fuzz_onnx, fuzz_npy, fuzz_wav,
fuzz_image, fuzz_wordpiece, fuzz_bpe) into fuzz/corpus/<target>/. Needs Debian's /usr/bin/python3
(numpy, onnx, PIL via torchvision). Deterministic; re-run after changing it and commit the files.
Regression inputs (crash-*/regress-*) in those folders are kept as they are."""
import base64
import io
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy_seeds():
    rng = np.random.default_rng(1)
    arrays = {
        "f32_2x3": rng.standard_normal((2, 3)).astype("<f4"),
        "f16_4": rng.standard_normal(4).astype("<f2"),
        "i64_scalar": np.array(7, dtype="<i8"),
        "i32_2x2x2": np.arange(8, dtype="<i4").reshape(2, 2, 2),
        "i8_5": np.arange(-2, 3, dtype="i1"),
        "u8_1x3x2x2": np.arange(12, dtype="u1").reshape(1, 3, 2, 2),
        "bool_3": np.array([True, False, True]),
        "f32_empty_0x4": np.zeros((0, 4), dtype="<f4"),
        "f32_fortran_2x3": np.asfortranarray(rng.standard_normal((2, 3)).astype("<f4")),
        "f32_bigendian": rng.standard_normal(3).astype(">f4"),
        "f64_2": np.array([1.5, -2.0]),
    }
    for name, a in arrays.items():
        b = io.BytesIO()
        np.save(b, a, allow_pickle=False)
        out("npy", name + ".npy", b.getvalue())
    # Format 2.0 (4-byte header length) by hand.
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    hdr += b" " * (-(len(hdr) + 13) % 64) + b"\n"
    out("npy", "v2_f32_2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(hdr)) + hdr + struct.pack("<2f", 1, 2))


def wav(fmt, channels, rate, bits, frames, extensible=False, extra_chunk=False, fmt_after_data=False):
    if fmt == 3:
        samples = np.sin(np.arange(frames * channels) * 0.1)
        data = samples.astype("<f4" if bits == 32 else "<f8").tobytes()
    elif bits == 8:
        data = (np.arange(frames * channels) % 256).astype("u1").tobytes()
    elif bits == 24:
        v = (np.arange(frames * channels) * 40000 - 2**22).astype("<i4").tobytes()
        data = b"".join(v[i:i + 3] for i in range(0, len(v), 4))
    else:
        dt = {16: "<i2", 32: "<i4"}[bits]
        data = (np.sin(np.arange(frames * channels) * 0.2) * 30000).astype(dt).tobytes()
    block = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", fmt) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt_body = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 3) + guid
    else:
        fmt_body = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
    data_chunk = b"data" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")
    chunks = [fmt_chunk, data_chunk]
    if fmt_after_data:
        chunks.reverse()
    if extra_chunk:
        chunks.insert(0, b"LIST" + struct.pack("<I", 3) + b"abc\x00")
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_seeds():
    out("wav", "pcm16_mono_16k.wav", wav(1, 1, 16000, 16, 64))
    out("wav", "pcm16_stereo_44k.wav", wav(1, 2, 44100, 16, 48))
    out("wav", "pcm8_mono_8k.wav", wav(1, 1, 8000, 8, 33))
    out("wav", "pcm24_mono_48k.wav", wav(1, 1, 48000, 24, 40))
    out("wav", "pcm32_mono_22k.wav", wav(1, 1, 22050, 32, 40))
    out("wav", "float32_mono_16k.wav", wav(3, 1, 16000, 32, 50))
    out("wav", "float64_stereo_32k.wav", wav(3, 2, 32000, 64, 20))
    out("wav", "ext_pcm16_6ch_48k.wav", wav(1, 6, 48000, 16, 16, extensible=True))
    out("wav", "ext_float32_mono_24k.wav", wav(3, 1, 24000, 32, 30, extensible=True))
    out("wav", "list_fmt_after_data.wav", wav(1, 1, 16000, 16, 20, extra_chunk=True, fmt_after_data=True))


def image_seeds():
    from PIL import Image
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    for mode_byte, name, fmt, img in [
        (0x00, "rgb.png", "PNG", Image.fromarray(rgb)),
        (0x42, "gray.png", "PNG", Image.fromarray(rgb[:, :, 0])),
        (0x80, "rgba.png", "PNG", Image.fromarray(np.dstack([rgb, rgb[:, :, :1]]))),
        (0x21, "palette.png", "PNG", Image.fromarray(rgb).convert("P")),
        (0x13, "rgb.jpg", "JPEG", Image.fromarray(rgb)),
        (0x9f, "gray.jpg", "JPEG", Image.fromarray(rgb[:, :, 1])),
        (0x05, "rgb.bmp", "BMP", Image.fromarray(rgb)),
        (0x66, "rgb.ppm", "PPM", Image.fromarray(rgb)),
        (0x07, "gray.pgm", "PPM", Image.fromarray(rgb[:, :, 2])),
        (0x08, "rgb.gif", "GIF", Image.fromarray(rgb)),
        (0x09, "rgb.tga", "TGA", Image.fromarray(rgb)),
    ]:
        b = io.BytesIO()
        kw = {"progressive": True} if name == "gray.jpg" else {}
        img.save(b, fmt, **kw)
        out("image", name, bytes([mode_byte]) + b.getvalue())


def wordpiece_seeds():
    vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nquick\nbrown\n##ish\nfox\n##es\n,\n.\n!\nun\n##aff\n##able\ncafe\n\u4e00\n"
    texts = ["The quick brownish foxes, unaffable!", "Caf\u00e9 \u4e00\u4e8c  \t\u00c9t\u00e9\u0301 ok.",
             "\x01bad\xff utf8 \u200b zero-width", "a" * 120 + " foxes"]
    for i, (flags, t) in enumerate(zip([0x01, 0x0f, 0x17, 0x81], texts)):
        out("wordpiece", "seed%d" % i, bytes([flags]) + vocab.encode() + b"\0" + t.encode("utf-8", "surrogateescape"))
    out("wordpiece", "crlf_bom", b"\x03\xef\xbb\xbf[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n\r\n\0hellos HELLO")
    out("wordpiece", "raw_vocab", b"\x06\n\n##\n#\n\xff\n[UNK]\0## # \xff hello")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bpe_seeds():
    import json
    b2u = bytes_to_unicode()
    toks = [b2u[b] for b in range(256)]
    merges = ["\u0120 t", "h e", "\u0120t he", "i n", "\u0120 a", "e r"]
    for m in merges:
        toks.append(m.replace(" ", ""))
    toks.append("<|endoftext|>")
    vj = json.dumps({t: i for i, t in enumerate(toks)}, ensure_ascii=True).encode()
    mt = ("#version: 0.2\n" + "\n".join(merges) + "\n").encode()
    text = "Hello there, the winner's 123 caf\u00e9 \u4e2d\u6587!!  \n\tend".encode() + b"\xff\xfe"
    out("bpe", "json_merges", b"\x00" + vj + b"\0" + mt + b"\0" + text)
    out("bpe", "json_nomerges", b"\x03" + vj + b"\0" + b"\0" + text)
    # tiktoken: every byte plus a few merged tokens (ranks = ids); mode 1 + 3*k: k*104/85 - 3 languages.
    tt = [bytes([b]) for b in range(256)] + [b" t", b"he", b" the", b"in", b" a", b"er"]
    tk = "".join("%s %d\n" % (base64.b64encode(t).decode(), i) for i, t in enumerate(tt)).encode()
    out("bpe", "tiktoken_4lang", bytes([1 + 3 * 6]) + tk + b"\0" + text)
    out("bpe", "tiktoken_100lang", bytes([1 + 3 * 84]) + tk + b"\0" + text)
    # Raw metadata strings: the same vocabulary as lines, merges as lines.
    out("bpe", "raw_lines", b"\x02" + "\n".join(toks).encode() + b"\0" + "\n".join(merges).encode() + b"\0" + text)


def onnx_seeds():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)

    def save(name, graph, opset=13):
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="seed")
        out("onnx", name, m.SerializeToString())

    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("GlobalAveragePool", ["r"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Softmax", ["f"], ["y"], axis=1)],
        "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, b])
    save("conv_relu_pool.onnx", g)

    wm = numpy_helper.from_array(rng.standard_normal((6, 5)).astype(np.float32), "wm")
    shape = numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "wm"], ["m"]),
         helper.make_node("Constant", [], ["k"], value=helper.make_tensor("k", TensorProto.FLOAT16, [1], [0.5])),
         helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["m", "kf"], ["s"]),
         helper.make_node("Reshape", ["s", "shape"], ["rs"]),
         helper.make_node("Shape", ["rs"], ["sh"]),
         helper.make_node("ConstantOfShape", ["sh"], ["z"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
         helper.make_node("Add", ["rs", "z"], ["y"])],
        "matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])], [wm, shape])
    save("matmul_const_cast.onnx", g)

    # int64 / int32 / int8 / bool / double initializers through Gather, Where, Concat.
    table = numpy_helper.from_array(rng.standard_normal((10, 4)).astype(np.float64), "table")
    idx = helper.make_tensor("idx", TensorProto.INT32, [3], [1, 2, 9])
    cond = helper.make_tensor("cond", TensorProto.BOOL, [4], [1, 0, 1, 0])
    small = helper.make_tensor("small", TensorProto.INT8, [2], [-3, 4])
    g = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["e"], axis=0),
         helper.make_node("Cast", ["e"], ["ef"], to=TensorProto.FLOAT),
         helper.make_node("Gather", ["table", "idx"], ["e2"], axis=0),
         helper.make_node("Cast", ["e2"], ["e2f"], to=TensorProto.FLOAT),
         helper.make_node("Concat", ["ef", "e2f"], ["cc"], axis=0),
         helper.make_node("Where", ["cond", "cc", "cc"], ["y"])],
        "embed", [helper.make_tensor_value_info("ids", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 4])], [table, idx, cond, small])
    save("gather_where.onnx", g, opset=11)
    # No shapes, opset 7, a LayerNorm-like chain.
    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["mu"], axes=[-1]),
         helper.make_node("Sub", ["x", "mu"], ["d"]),
         helper.make_node("Mul", ["d", "d"], ["d2"]),
         helper.make_node("Sqrt", ["d2"], ["y"])],
        "ln", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    save("no_shapes_opset7.onnx", g, opset=7)


if __name__ == "__main__":
    for f in sys.argv[1:] or ["npy", "wav", "image", "wordpiece", "bpe", "onnx"]:
        globals()[f + "_seeds"]()
