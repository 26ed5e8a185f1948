"""Audio front end and vocoder: log-mel features and Griffin-Lim.

Everything here is numpy + ``torch.stft``/``torch.istft``: torchaudio has no
CPU wheel we may rely on and librosa's numba compile costs tens of seconds on a
fresh machine, while a Slaney mel filterbank is a few lines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch


@dataclass(frozen=True)
class AudioConfig:
    """STFT/mel parameters shared by training, evaluation and inference."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    log_floor: float = 1e-5

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class VocoderConfig:
    """Griffin-Lim settings (Perraudin et al. 2013 "fast" variant with momentum)."""

    n_iter: int = 48
    momentum: float = 0.99
    power: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, float | int | str]:
        return {"type": "griffin_lim", **asdict(self)}


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mels = f / f_sp
    log_t = f >= min_log_hz
    mels[log_t] = min_log_hz / f_sp + np.log(f[log_t] / min_log_hz) / logstep
    return mels


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    freqs = f_sp * m
    log_t = m >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (m[log_t] - min_log_mel))
    return freqs


@lru_cache(maxsize=4)
def mel_filterbank(cfg: AudioConfig) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``[n_mels, n_fft // 2 + 1]``.

    Matches ``librosa.filters.mel(htk=False, norm="slaney")``.
    """
    fft_freqs = np.linspace(0.0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    mel_pts = np.linspace(_hz_to_mel(np.array([cfg.fmin]))[0], _hz_to_mel(np.array([cfg.fmax]))[0], cfg.n_mels + 2)
    hz_pts = _mel_to_hz(mel_pts)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_pts[2 : cfg.n_mels + 2] - hz_pts[: cfg.n_mels]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=4)
def _mel_inverse(cfg: AudioConfig) -> np.ndarray:
    """Pseudo-inverse of the filterbank, used to go back from mel to linear magnitude."""
    return np.linalg.pinv(mel_filterbank(cfg)).astype(np.float32)


def _window(cfg: AudioConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.hann_window(cfg.win_length, periodic=True, dtype=torch.float32, device=device)


def magnitude(audio: torch.Tensor, cfg: AudioConfig) -> torch.Tensor:
    """|STFT| of a 1-D float signal, shape ``[n_fft // 2 + 1, frames]``."""
    spec = torch.stft(
        audio,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=_window(cfg, audio.device),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.abs()


def log_mel(audio: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Natural-log mel magnitude spectrogram, shape ``[n_mels, frames]``, float32."""
    mag = magnitude(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), cfg)
    mel = torch.from_numpy(mel_filterbank(cfg)) @ mag
    return torch.log(torch.clamp(mel, min=cfg.log_floor)).numpy().astype(np.float32)


def griffin_lim(log_mel_spec: np.ndarray, cfg: AudioConfig, voc: VocoderConfig) -> np.ndarray:
    """Invert a log-mel spectrogram to a waveform (float32 in [-1, 1]).

    The mel is mapped back to a linear magnitude with the filterbank's
    pseudo-inverse, sharpened by ``power`` (Tacotron's trick against the
    buzzy phase of Griffin-Lim), then phase is recovered with the fast
    Griffin-Lim iteration. The initial phase is drawn from a generator seeded
    with ``voc.seed`` so the waveform is reproducible bit for bit.
    """
    mel = np.exp(log_mel_spec.astype(np.float32))
    mag_np = np.maximum(_mel_inverse(cfg) @ mel, 0.0) ** voc.power
    mag = torch.from_numpy(np.ascontiguousarray(mag_np, dtype=np.float32))
    window = _window(cfg)
    gen = torch.Generator().manual_seed(voc.seed)
    angles = torch.exp(2j * torch.pi * torch.rand(mag.shape, generator=gen, dtype=torch.float32))
    length = (mag.shape[1] - 1) * cfg.hop_length

    def istft(spec: torch.Tensor) -> torch.Tensor:
        return torch.istft(
            spec,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            window=window,
            center=True,
            length=length,
        )

    def stft(signal: torch.Tensor) -> torch.Tensor:
        return torch.stft(
            signal,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            window=window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )

    prev = torch.zeros_like(angles)
    alpha = voc.momentum / (1.0 + voc.momentum)
    for _ in range(voc.n_iter):
        rebuilt = stft(istft(mag * angles))
        angles = rebuilt - alpha * prev
        angles = angles / (angles.abs() + 1e-8)
        prev = rebuilt
    wav = istft(mag * angles).numpy()
    peak = float(np.max(np.abs(wav))) if wav.size > 0 else 0.0
    if peak > 0:
        wav = wav * (0.9 / peak)
    return wav.astype(np.float32)
