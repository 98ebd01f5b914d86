#!/usr/bin/python3
"""Export Whisper (tiny or base) to ONNX, with PyTorch reference outputs.

openai-whisper's ModelDimensions / Whisper / AudioEncoder / TextDecoder re-implemented in plain
PyTorch with the same parameter names and forward (a real checkpoint's "model_state_dict" loads
with strict=True: the encoder positional embedding is a persistent buffer, the decoder mask is
not). Without --checkpoint the weights are seeded (PyTorch's default init as in whisper, the
decoder positional embedding normal(0, 0.02); the token-embedding rows of the special and
timestamp tokens (>= 50257) are scaled by 0.3 so that greedy decoding produces text tokens; see
seeded_init for the decoder).

Writes into --out:
  encoder.onnx       mel [1, 80, 3000] f32 -> audio_features [1, 1500, d] and, per decoder layer i,
                     cross_k_i, cross_v_i [1, 1500, d] (cross-attention key / value projections)
  decoder.onnx       one step with a KV cache: tokens [1, 1] i64, position [1] i64, self_k_i,
                     self_v_i [1, 448, d] (i = 0..L-1), cross_k_i, cross_v_i [1, 1500, d] ->
                     logits [1, 1, 51865], self_k_i_out, self_v_i_out [1, 448, d] (the caches with
                     row `position` written by ScatterElements; keys after `position` masked with
                     Where(Greater(range(448), position), -inf, 0))
  decoder_full.onnx  tokens [1, n] (dynamic axis "tokens"), audio_features [1, 1500, d] ->
                     logits [1, n, 51865] (causal mask, no cache)
  multilingual.tiktoken   synthetic byte-level BPE ranks (seeded models; see make_vocabs.py), or
                     a copy of --tiktoken
  speech.wav         espeak-ng clip resampled to 16 kHz, PCM16 mono; speech_orig.wav: espeak's own
                     22050 Hz output (for resampler tests)
  mel_filters_80.npy Slaney mel filterbank [80, 201] (librosa.filters.mel(16000, 400, 80))
  ref_mel.npy        [1, 80, 3000] log-mel of speech.wav (int16 / 32768, padded to 30 s, whisper's
                     formula in float64 NumPy, stored f32)
  ref_audio_features.npy, ref_cross_k_i.npy, ref_cross_v_i.npy   encoder outputs for ref_mel
  ref_decoder_full_tokens.npy [1, n] i64, ref_decoder_full_logits.npy [1, n, 51865]
  ref_greedy.json    32 greedy steps (prefix sot, en, transcribe, notimestamps; whisper's
                     suppress_tokens "-1" list and SuppressBlank at the first step): tokens, the
                     top-2 logit margin per step, the suppress lists, and the same run with a
                     PyTorch KV cache (tokens must agree)
  ref_greedy_logits.npy [1, 4 + 32, 51865]: decoder_full logits over the whole greedy sequence
                     (row j = logits after token j; rows 3.. choose the greedy tokens)
  ref_greedy_tokens.npy [1, 4 + 32] i64, ref_suppress_tokens.npy, ref_suppress_blank.npy (i64)
  manifest.json
Usage: export_whisper.py --size tiny|base --out DIR [--seed 0] [--checkpoint FILE.pt]
       [--tiktoken FILE] [--opset 14] [--steps 32]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vocabs  # noqa: E402

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
CHUNK_SAMPLES = 30 * SAMPLE_RATE
N_FRAMES = CHUNK_SAMPLES // HOP

# Special tokens of the multilingual vocabulary (n_vocab 51865: 99 languages).
EOT = 50257
SOT = 50258
LANG_EN = 50259
TRANSLATE = 50358
TRANSCRIBE = 50359
SOT_LM = 50360
SOT_PREV = 50361
NO_SPEECH = 50362
NO_TIMESTAMPS = 50363
TIMESTAMP_BEGIN = 50364

SPEECH_TEXT = "Hello world. This is a test of the Pocket speech recognizer."
SPEECH_TEXT_30S = (
    "The quick brown fox jumps over the lazy dog. Pocket is a small inference engine that runs "
    "neural networks on phones and laptops. It converts a model once, then loads it in a few "
    "milliseconds and runs it without allocating memory. Speech recognition with Whisper needs an "
    "encoder for thirty seconds of audio and a decoder that writes one token at a time, reusing "
    "the keys and values it has already computed. This sentence is here to make the clip about "
    "thirty seconds long, which is the window that the model was trained on.")


@dataclass
class ModelDimensions:
    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


SIZES = {
    "tiny": ModelDimensions(80, 1500, 384, 6, 4, 51865, 448, 384, 6, 4),
    "base": ModelDimensions(80, 1500, 512, 8, 6, 51865, 448, 512, 8, 6),
}


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


class Linear(nn.Linear):
    def forward(self, x):
        return F.linear(x, self.weight.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


class Conv1d(nn.Conv1d):
    def _conv_forward(self, x, weight, bias):
        return super()._conv_forward(x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype))


def sinusoids(length, channels, max_timescale=10000):
    assert channels % 2 == 0
    log_timescale_increment = np.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
    scaled_time = torch.arange(length)[:, np.newaxis] * inv_timescales[np.newaxis, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


def qkv_attention(q, k, v, n_head, mask=None):
    """whisper's MultiHeadAttention.qkv_attention; mask is already sliced to [n_q, n_k] (or [n_k])."""
    n_batch, n_ctx, n_state = q.shape
    scale = (n_state // n_head) ** -0.25
    q = q.view(*q.shape[:2], n_head, -1).permute(0, 2, 1, 3) * scale
    k = k.view(*k.shape[:2], n_head, -1).permute(0, 2, 3, 1) * scale
    v = v.view(*v.shape[:2], n_head, -1).permute(0, 2, 1, 3)
    qk = q @ k
    if mask is not None:
        qk = qk + mask
    qk = qk.float()
    w = F.softmax(qk, dim=-1).to(q.dtype)
    return (w @ v).permute(0, 2, 1, 3).flatten(start_dim=2)


class MultiHeadAttention(nn.Module):
    def __init__(self, n_state, n_head):
        super().__init__()
        self.n_head = n_head
        self.query = Linear(n_state, n_state)
        self.key = Linear(n_state, n_state, bias=False)
        self.value = Linear(n_state, n_state)
        self.out = Linear(n_state, n_state)

    def forward(self, x, xa=None, mask=None, kv=None):
        q = self.query(x)
        if kv is not None:
            k, v = kv
        else:
            k = self.key(x if xa is None else xa)
            v = self.value(x if xa is None else xa)
        if mask is not None and mask.dim() == 2:
            mask = mask[: q.shape[1], : k.shape[1]]
        return self.out(qkv_attention(q, k, v, self.n_head, mask))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, n_state, n_head, cross_attention=False):
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head)
        self.attn_ln = LayerNorm(n_state)
        self.cross_attn = MultiHeadAttention(n_state, n_head) if cross_attention else None
        self.cross_attn_ln = LayerNorm(n_state) if cross_attention else None
        n_mlp = n_state * 4
        self.mlp = nn.Sequential(Linear(n_state, n_mlp), nn.GELU(), Linear(n_mlp, n_state))
        self.mlp_ln = LayerNorm(n_state)

    def forward(self, x, xa=None, mask=None, cross_kv=None):
        x = x + self.attn(self.attn_ln(x), mask=mask)
        if self.cross_attn:
            x = x + self.cross_attn(self.cross_attn_ln(x), xa, kv=cross_kv)
        x = x + self.mlp(self.mlp_ln(x))
        return x


class AudioEncoder(nn.Module):
    def __init__(self, n_mels, n_ctx, n_state, n_head, n_layer):
        super().__init__()
        self.conv1 = Conv1d(n_mels, n_state, kernel_size=3, padding=1)
        self.conv2 = Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(n_ctx, n_state))
        self.blocks = nn.ModuleList([ResidualAttentionBlock(n_state, n_head) for _ in range(n_layer)])
        self.ln_post = LayerNorm(n_state)

    def forward(self, x):
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        x = x.permute(0, 2, 1)
        x = (x + self.positional_embedding).to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    def __init__(self, n_vocab, n_ctx, n_state, n_head, n_layer):
        super().__init__()
        self.token_embedding = nn.Embedding(n_vocab, n_state)
        self.positional_embedding = nn.Parameter(torch.empty(n_ctx, n_state))
        self.blocks = nn.ModuleList(
            [ResidualAttentionBlock(n_state, n_head, cross_attention=True) for _ in range(n_layer)])
        self.ln = LayerNorm(n_state)
        mask = torch.empty(n_ctx, n_ctx).fill_(-np.inf).triu_(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x, xa, cross=None, last_only=False):
        """cross: optional precomputed [(key(xa), value(xa)) per block] (same numbers, less work);
        last_only: logits of the last position only (greedy decoding needs no more)."""
        x = self.token_embedding(x) + self.positional_embedding[: x.shape[-1]]
        x = x.to(self.positional_embedding.dtype)
        for i, block in enumerate(self.blocks):
            x = block(x, xa, mask=self.mask, cross_kv=None if cross is None else cross[i])
        if last_only:
            x = x[:, -1:]
        x = self.ln(x)
        return (x @ torch.transpose(self.token_embedding.weight.to(x.dtype), 0, 1)).float()


class Whisper(nn.Module):
    def __init__(self, dims: ModelDimensions):
        super().__init__()
        self.dims = dims
        self.encoder = AudioEncoder(dims.n_mels, dims.n_audio_ctx, dims.n_audio_state,
                                    dims.n_audio_head, dims.n_audio_layer)
        self.decoder = TextDecoder(dims.n_vocab, dims.n_text_ctx, dims.n_text_state,
                                   dims.n_text_head, dims.n_text_layer)
        all_heads = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
        all_heads[dims.n_text_layer // 2:] = True
        self.register_buffer("alignment_heads", all_heads.to_sparse(), persistent=False)


# ------------------------------------------------------------------------------------------------
# Graph wrappers


class EncoderGraph(nn.Module):
    """mel -> audio_features, cross_k_0, cross_v_0, ..."""

    def __init__(self, model):
        super().__init__()
        self.encoder = model.encoder
        self.decoder = model.decoder

    def forward(self, mel):
        xa = self.encoder(mel)
        outs = [xa]
        for b in self.decoder.blocks:
            outs += [b.cross_attn.key(xa), b.cross_attn.value(xa)]
        return tuple(outs)


class DecoderStepGraph(nn.Module):
    """tokens [1,1], position [1], self_k_i, self_v_i..., cross_k_i, cross_v_i... ->
    logits [1,1,V], self_k_i_out, self_v_i_out..."""

    def __init__(self, model):
        super().__init__()
        self.dec = model.decoder
        self.n_layer = model.dims.n_text_layer
        self.n_head = model.dims.n_text_head
        self.n_ctx = model.dims.n_text_ctx

    def forward(self, tokens, position, *caches):
        L = self.n_layer
        self_kv = caches[: 2 * L]
        cross_kv = caches[2 * L:]
        dec = self.dec
        x = dec.token_embedding(tokens) + dec.positional_embedding[position]  # [1,1,d] + [1,d]
        d = x.shape[-1]
        idx = position.view(1, 1, 1).expand(1, 1, d)
        keep = torch.arange(self.n_ctx) > position  # keys after `position`
        mask = torch.where(keep, torch.tensor(float("-inf")), torch.tensor(0.0))
        new_cache = []
        for i, b in enumerate(dec.blocks):
            h = b.attn_ln(x)
            q = b.attn.query(h)
            k_all = self_kv[2 * i].scatter(1, idx, b.attn.key(h))
            v_all = self_kv[2 * i + 1].scatter(1, idx, b.attn.value(h))
            new_cache += [k_all, v_all]
            x = x + b.attn.out(qkv_attention(q, k_all, v_all, self.n_head, mask))
            x = x + b.cross_attn(b.cross_attn_ln(x), kv=(cross_kv[2 * i], cross_kv[2 * i + 1]))
            x = x + b.mlp(b.mlp_ln(x))
        x = dec.ln(x)
        logits = (x @ torch.transpose(dec.token_embedding.weight.to(x.dtype), 0, 1)).float()
        return (logits, *new_cache)


class DecoderFullGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.dec = model.decoder

    def forward(self, tokens, audio_features):
        return self.dec(tokens, audio_features)


# ------------------------------------------------------------------------------------------------
# Audio: espeak-ng clip and whisper's log-mel in NumPy


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(n_mels=80, sr=SAMPLE_RATE, n_fft=N_FFT):
    """Slaney-style filterbank with Slaney area normalisation (librosa.filters.mel defaults)."""
    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels])
    return weights * enorm[:, None]


def log_mel(audio, filters):
    """whisper.log_mel_spectrogram on a 30 s window: pad/trim to 480000 samples, STFT (periodic Hann
    400, hop 160, centred with reflect padding), drop the last frame, |X|^2, mel, log10 with a
    1e-10 floor, max(x, max - 8), (x + 4) / 4. float64 throughout. Returns [n_mels, 3000]."""
    x = np.zeros(CHUNK_SAMPLES, dtype=np.float64)
    n = min(len(audio), CHUNK_SAMPLES)
    x[:n] = audio[:n]
    x = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    n_frames = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n_frames, N_FFT), strides=(x.strides[0] * HOP, x.strides[0]))
    spec = np.fft.rfft(frames * window, axis=1)[:-1]  # [3000, 201]
    mags = np.abs(spec) ** 2
    mel = filters @ mags.T
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def synth_speech(text, path16, path_orig):
    import scipy.io.wavfile as wavfile
    from scipy.signal import resample_poly
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", path_orig, text], check=True)
    sr, x = wavfile.read(path_orig)
    x = x.astype(np.float64) / 32768.0
    if x.ndim > 1:
        x = x.mean(axis=1)
    from math import gcd
    g = gcd(SAMPLE_RATE, sr)
    y = resample_poly(x, SAMPLE_RATE // g, sr // g)
    y16 = np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    wavfile.write(path16, SAMPLE_RATE, y16)
    return y16.astype(np.float64) / 32768.0


# ------------------------------------------------------------------------------------------------
# Byte-level BPE (tiktoken's algorithm) for the suppress lists and the reference text


class Bpe:
    def __init__(self, path):
        self.ranks = {}
        with open(path) as f:
            for line in f:
                if line.strip():
                    tok, rank = line.split()
                    self.ranks[base64.b64decode(tok)] = int(rank)
        self.inv = {r: t for t, r in self.ranks.items()}

    def _merge(self, piece):
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            best, best_i = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best is None:
                break
            parts = parts[:best_i] + [parts[best_i] + parts[best_i + 1]] + parts[best_i + 2:]
        return [self.ranks[p] for p in parts]

    def encode(self, text):
        out = []
        for piece in make_vocabs._PRETOKENIZE.findall(text):
            out += self._merge(piece.encode("utf-8"))
        return out

    def decode(self, tokens):
        return b"".join(self.inv[t] for t in tokens if t < EOT).decode("utf-8", errors="replace")

    def non_speech_tokens(self):
        """whisper.tokenizer.Tokenizer.non_speech_tokens."""
        symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
        symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
        miscellaneous = set("♩♪♫♬♭♮♯")
        result = {self.encode(" -")[0], self.encode(" '")[0]}
        for symbol in symbols + sorted(miscellaneous):
            for tokens in [self.encode(symbol), self.encode(" " + symbol)]:
                if len(tokens) == 1 or symbol in miscellaneous:
                    result.add(tokens[0])
        return sorted(result)


def suppress_lists(bpe):
    suppress = sorted(set(bpe.non_speech_tokens() + [TRANSCRIBE, TRANSLATE, SOT, SOT_PREV, SOT_LM, NO_SPEECH]))
    blank = bpe.encode(" ") + [EOT]
    return suppress, blank


# ------------------------------------------------------------------------------------------------


def seeded_init(model, seed, decoder_seed=2):
    """PyTorch's default init (as an untrained openai-whisper model has), except in the decoder,
    where that init decodes one token forever: nn.Embedding's N(0, 1) rows dominate the residual
    stream, so the tied output projection repeats the input token, and the GELU mean and the Linear
    biases add a constant direction that picks one token. Here: token embedding N(0, 0.08) (rows
    >= 50257, the special and timestamp tokens, scaled by 0.3: a fixed bias towards text), positional
    embedding N(0, 1), the MLPs' second Linear with zero-mean rows, zero output biases of the MLPs
    and attentions. The decoder embeddings come from their own generator (decoder_seed); 2 was picked
    among 1..4 for the largest smallest top-2 margin over the 32 greedy reference steps of the
    seed-0 tiny model (0.037; the others had 0.005-0.007 against logits of about 6)."""
    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters") and m is not model:
            m.reset_parameters()
    dec = model.decoder
    g = torch.Generator().manual_seed(decoder_seed)
    with torch.no_grad():
        dec.token_embedding.weight.copy_(torch.randn(dec.token_embedding.weight.shape, generator=g) * 0.08)
        dec.token_embedding.weight[EOT:] *= 0.3
        dec.positional_embedding.copy_(torch.randn(dec.positional_embedding.shape, generator=g) * 1.0)
        for b in dec.blocks:
            w = b.mlp[2].weight
            w -= w.mean(dim=1, keepdim=True)
            b.mlp[2].bias.zero_()
            b.attn.out.bias.zero_()
            b.cross_attn.out.bias.zero_()


def greedy(step_logits_fn, steps, suppress, blank):
    tokens = [SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS]
    margins = []
    for s in range(steps):
        logits = step_logits_fn(tokens).astype(np.float64).copy()
        logits[suppress] = -np.inf
        if s == 0:
            logits[blank] = -np.inf
        top2 = np.sort(logits)[-2:]
        margins.append(float(top2[1] - top2[0]))
        t = int(np.argmax(logits))
        tokens.append(t)
        if t == EOT:
            break
    return tokens, margins


def export(module, args, path, input_names, output_names, opset, dynamic_axes=None):
    import onnx
    torch.onnx.export(module, args, path, opset_version=opset, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return sorted({n.op_type for n in m.graph.node}), len(m.graph.node)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default=None, help="openai-whisper .pt (dims + model_state_dict)")
    ap.add_argument("--tiktoken", default=None, help="multilingual.tiktoken to use instead of a synthetic one")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--decoder-seed", type=int, default=2, help="generator seed of the seeded decoder embeddings")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    log = lambda m: print(m, flush=True)

    dims = SIZES[a.size]
    if a.checkpoint:
        ck = torch.load(a.checkpoint, map_location="cpu")
        dims = ModelDimensions(**ck["dims"])
        model = Whisper(dims)
        model.load_state_dict(ck["model_state_dict"], strict=True)
    else:
        model = Whisper(dims)
        seeded_init(model, a.seed, a.decoder_seed)
    model.eval()
    d, L = dims.n_text_state, dims.n_text_layer

    tik = os.path.join(a.out, "multilingual.tiktoken")
    if a.tiktoken:
        if os.path.abspath(a.tiktoken) != os.path.abspath(tik):
            shutil.copyfile(a.tiktoken, tik)
    else:
        log("training the synthetic byte-level BPE vocabulary (about a minute)")
        make_vocabs.write_tiktoken(make_vocabs.train_bpe(make_vocabs.english_corpus()), tik)
    bpe = Bpe(tik)
    suppress, blank = suppress_lists(bpe)

    # Audio and mel.
    audio = synth_speech(SPEECH_TEXT, os.path.join(a.out, "speech.wav"), os.path.join(a.out, "speech_orig.wav"))
    synth_speech(SPEECH_TEXT_30S, os.path.join(a.out, "speech30.wav"), os.path.join(a.out, "speech30_orig.wav"))
    filters = mel_filters(dims.n_mels)
    np.save(os.path.join(a.out, f"mel_filters_{dims.n_mels}.npy"), filters.astype(np.float32))
    mel = log_mel(audio, filters)[None].astype(np.float32)
    np.save(os.path.join(a.out, "ref_mel.npy"), mel)
    log(f"speech.wav: {len(audio) / SAMPLE_RATE:.2f} s, mel range [{mel.min():.3f}, {mel.max():.3f}]")

    enc = EncoderGraph(model).eval()
    step = DecoderStepGraph(model).eval()
    full = DecoderFullGraph(model).eval()
    prefix = [SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS] + bpe.encode(" Hello world.")
    ptok = torch.tensor([prefix], dtype=torch.int64)

    # ONNX graphs first (example inputs only; the references below do not depend on them).
    info = {}
    names = [f"cross_{kv}_{i}" for i in range(L) for kv in ("k", "v")]
    info["encoder.onnx"] = export(enc, (torch.from_numpy(mel),), os.path.join(a.out, "encoder.onnx"),
                                  ["mel"], ["audio_features"] + names, a.opset)
    log(f"encoder.onnx: {info['encoder.onnx'][1]} nodes")
    self_names = [f"self_{kv}_{i}" for i in range(L) for kv in ("k", "v")]
    gen = torch.Generator().manual_seed(1)
    ex_cache = [torch.randn(1, dims.n_text_ctx, d, generator=gen) for _ in range(2 * L)]
    ex_cross = [torch.randn(1, dims.n_audio_ctx, d, generator=gen) for _ in range(2 * L)]
    info["decoder.onnx"] = export(step, (torch.tensor([[SOT]]), torch.tensor([3]), *ex_cache, *ex_cross),
                                  os.path.join(a.out, "decoder.onnx"), ["tokens", "position"] + self_names + names,
                                  ["logits"] + [n + "_out" for n in self_names], a.opset)
    log(f"decoder.onnx: {info['decoder.onnx'][1]} nodes")
    info["decoder_full.onnx"] = export(full, (ptok, torch.randn(1, dims.n_audio_ctx, d, generator=gen)),
                                       os.path.join(a.out, "decoder_full.onnx"),
                                       ["tokens", "audio_features"], ["logits"], a.opset,
                                       dynamic_axes={"tokens": {1: "tokens"}, "logits": {1: "tokens"}})
    log(f"decoder_full.onnx: {info['decoder_full.onnx'][1]} nodes")

    # Encoder references.
    with torch.no_grad():
        enc_out = enc(torch.from_numpy(mel))
    np.save(os.path.join(a.out, "ref_audio_features.npy"), enc_out[0].numpy())
    for i in range(L):
        np.save(os.path.join(a.out, f"ref_cross_k_{i}.npy"), enc_out[1 + 2 * i].numpy())
        np.save(os.path.join(a.out, f"ref_cross_v_{i}.npy"), enc_out[2 + 2 * i].numpy())
    xa = enc_out[0]
    cross = list(enc_out[1:])
    cross_pairs = [(cross[2 * i], cross[2 * i + 1]) for i in range(L)]
    log("encoder references written")

    # Decoder logits for a fixed prefix.
    with torch.no_grad():
        plogits = full(ptok, xa).numpy()
    np.save(os.path.join(a.out, "ref_decoder_full_tokens.npy"), ptok.numpy())
    np.save(os.path.join(a.out, "ref_decoder_full_logits.npy"), plogits)

    # Greedy decoding, no cache: the full decoder over the whole sequence each step (the cross
    # keys/values of audio_features are computed once; the same numbers as recomputing them).
    def full_fn(tokens):
        with torch.no_grad():
            return model.decoder(torch.tensor([tokens]), xa, cross=cross_pairs, last_only=True)[0, -1].numpy()

    tokens_full, margins = greedy(full_fn, a.steps, suppress, blank)

    # Greedy decoding with a PyTorch KV cache (the decoder-step graph's module).
    state = {"fed": 0, "cache": [torch.zeros(1, dims.n_text_ctx, d) for _ in range(2 * L)]}

    def step_fn(tokens):
        out = None
        with torch.no_grad():
            while state["fed"] < len(tokens):
                p = state["fed"]
                res = step(torch.tensor([[tokens[p]]]), torch.tensor([p]), *state["cache"], *cross)
                state["cache"] = list(res[1:])
                out = res[0][0, -1].numpy()
                state["fed"] += 1
        return out

    tokens_cache, margins_cache = greedy(step_fn, a.steps, suppress, blank)
    with torch.no_grad():
        glogits = full(torch.tensor([tokens_full]), xa).numpy()
    np.save(os.path.join(a.out, "ref_greedy_logits.npy"), glogits)
    np.save(os.path.join(a.out, "ref_greedy_tokens.npy"), np.array([tokens_full], dtype=np.int64))
    np.save(os.path.join(a.out, "ref_suppress_tokens.npy"), np.array(suppress, dtype=np.int64))
    np.save(os.path.join(a.out, "ref_suppress_blank.npy"), np.array(blank, dtype=np.int64))
    text = bpe.decode(tokens_full[4:])
    log(f"greedy tokens (no cache) {tokens_full}")
    log(f"greedy tokens (KV cache) {tokens_cache}  equal: {tokens_full == tokens_cache}")
    log(f"text: {text!r}; top-2 margins min {min(margins):.4f} median {float(np.median(margins)):.4f}")
    # A step is fragile when its top-2 margin is within twice the logits tolerance (1e-3 max|ref|).
    near_ties = [i for i, m in enumerate(margins) if m < 2e-3 * float(np.abs(glogits).max())]
    if near_ties:
        log(f"WARNING: near-tie steps {near_ties}: a token test on them is fragile")
    with open(os.path.join(a.out, "ref_greedy.json"), "w") as f:
        json.dump(dict(prefix=[SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS], steps=a.steps,
                       tokens=tokens_full, tokens_kv_cache=tokens_cache,
                       cache_equals_full=tokens_full == tokens_cache, text=text,
                       top2_margin=margins, top2_margin_kv_cache=margins_cache,
                       min_margin=min(margins), max_abs_logit=float(np.abs(glogits).max()),
                       near_tie_steps=near_ties,
                       suppress_tokens=suppress, suppress_blank_first_step=blank,
                       special=dict(eot=EOT, sot=SOT, en=LANG_EN, translate=TRANSLATE, transcribe=TRANSCRIBE,
                                    sot_lm=SOT_LM, sot_prev=SOT_PREV, no_speech=NO_SPEECH,
                                    no_timestamps=NO_TIMESTAMPS, timestamp_begin=TIMESTAMP_BEGIN)),
                  f, indent=1, ensure_ascii=False)

    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(dict(model=f"whisper-{a.size}", dims=asdict(dims), seed=None if a.checkpoint else a.seed,
                       checkpoint=a.checkpoint, opset=a.opset,
                       graphs={k: dict(op_types=v[0], nodes=v[1]) for k, v in info.items()},
                       speech_text=SPEECH_TEXT, speech_30s_text=SPEECH_TEXT_30S,
                       tolerance="max|out-ref| <= 1e-3 * max|ref|"), f, indent=1)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
