#!/usr/bin/python3
"""Reference data for the audio front-end tests (tests/pipelines/audio_ref_test.cpp).

Writes into OUT_DIR:
  speech_22050.wav       espeak-ng utterance as espeak writes it (22050 Hz, PCM16 mono)
  speech_16k.f32         the same resampled to 16 kHz by scipy.signal.resample_poly (float32 raw)
  speech_16k_mel80.f32   Whisper log-mel of speech_16k.f32, 80 bins [80, 3000] (float64 NumPy, stored f32)
  synth_16k.f32          5.5 s synthetic signal: chirp 50 Hz..7.5 kHz + two tones + seeded noise
  synth_16k_mel80.f32, synth_16k_mel128.f32
  manifest.txt           "name samples" lines

The log-mel is openai-whisper's audio.py formula with librosa.filters.mel's Slaney filterbank,
written out here in NumPy (no torch / librosa needed).
Usage: make_audio_refs.py OUT_DIR
"""
import os
import subprocess
import sys
import wave

import numpy as np

SR, N_FFT, HOP, CHUNK = 16000, 400, 160, 30


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filters(n_mels):
    fft_freqs = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    w = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32).astype(np.float64)  # librosa returns float32 filters


def log_mel(x, n_mels):
    n = SR * CHUNK
    x = np.asarray(x, dtype=np.float64)[:n]
    x = np.pad(x, (0, n - len(x)))
    xp = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(xp) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    spec = np.fft.rfft(xp[idx] * window, axis=1)
    power = (np.abs(spec) ** 2).T[:, :-1]
    mel = mel_filters(n_mels) @ power
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    rng = np.random.default_rng(1234)
    t = np.arange(int(5.5 * SR)) / SR
    f0, f1 = 50.0, 7500.0
    chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * t[-1]) * t * t))
    synth = 0.3 * chirp + 0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 3000 * t) + 0.01 * rng.standard_normal(len(t))
    synth = synth.astype(np.float32)
    synth.tofile(os.path.join(out, "synth_16k.f32"))
    log_mel(synth, 80).tofile(os.path.join(out, "synth_16k_mel80.f32"))
    log_mel(synth, 128).tofile(os.path.join(out, "synth_16k_mel128.f32"))
    manifest.append("synth_16k %d" % len(synth))

    wav = os.path.join(out, "speech_22050.wav")
    subprocess.run(["espeak-ng", "-w", wav, "The quick brown fox jumps over the lazy dog. Pocket runs Whisper on the device."],
                   check=True)
    with wave.open(wav) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, "espeak-ng wrote an unexpected WAV format"
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    from math import gcd
    from scipy.signal import resample_poly
    g = gcd(rate, SR)
    speech = resample_poly(pcm, SR // g, rate // g).astype(np.float32)
    speech.tofile(os.path.join(out, "speech_16k.f32"))
    log_mel(speech, 80).tofile(os.path.join(out, "speech_16k_mel80.f32"))
    manifest.append("speech_16k %d" % len(speech))
    manifest.append("speech_22050_rate %d" % rate)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
