"""Held-out evaluation with baselines computed in the same run.

Every number is relative to something: the trained model's mel-cepstral
distortion (MCD, DTW-aligned, ``mel-cepstral-distance`` package, fmax 8 kHz) is
reported beside the untrained model (same architecture and seed, no training),
a chance pairing (the natural recording of a *different* test sentence) and the
Griffin-Lim ceiling (the ground-truth mel through the same vocoder), so a
reader can see where the model sits between "knows nothing" and "as good as
this vocoder allows".
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from trainer.audio import AudioConfig, VocoderConfig, griffin_lim, magnitude

MCD_FMAX = 8000


def mcd(reference: np.ndarray, synthesized: np.ndarray, sample_rate: int, tmp: Path) -> float:
    """MCD (dB) between two waveforms, DTW-aligned, as the package computes it."""
    logging.getLogger("mel_cepstral_distance").setLevel(logging.ERROR)
    from mel_cepstral_distance import compare_audio_files

    a, b = tmp / "a.wav", tmp / "b.wav"
    sf.write(a, reference, sample_rate, subtype="PCM_16")
    sf.write(b, synthesized, sample_rate, subtype="PCM_16")
    value, _penalty = compare_audio_files(a, b, fmax=MCD_FMAX, aligning="dtw")
    return float(value)


def _dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain DTW over a cost matrix; rows are vectorised, columns looped."""
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        # diagonal and vertical moves are vectorised; horizontal needs a scan.
        best = np.minimum(acc[i - 1, :-1], acc[i - 1, 1:]) + cost[i - 1]
        row = acc[i]
        for j in range(1, m + 1):
            row[j] = min(best[j - 1], row[j - 1] + cost[i - 1, j - 1])
    i, j = n, m
    pa, pb = [], []
    while i > 0 and j > 0:
        pa.append(i - 1)
        pb.append(j - 1)
        step = int(np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]))
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    return np.array(pa[::-1]), np.array(pb[::-1])


def log_spectral_distance(reference: np.ndarray, synthesized: np.ndarray, cfg: AudioConfig) -> float:
    """LSD (dB) over 0..fmax, DTW-aligned, level-independent.

    RMS over frequency of the log-power difference, averaged over aligned
    frames. Both signals are scaled to unit RMS first (the vocoder normalises
    its peak), and only bins up to ``cfg.fmax`` count: the model has no
    energy above the mel range, and those empty bins would swamp the metric.
    """
    import torch

    n_bins = int(cfg.fmax * cfg.n_fft / cfg.sample_rate) + 1

    def logpow(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        x = x / max(float(np.sqrt(np.mean(x**2))), 1e-8)
        mag = magnitude(torch.from_numpy(x), cfg).numpy()[:n_bins]
        return 10.0 * np.log10(np.maximum(mag**2, 1e-8)).T  # [frames, bins]

    ra, sb = logpow(reference), logpow(synthesized)
    cost = np.sqrt(((ra[:, None, :] - sb[None, :, :]) ** 2).mean(axis=2))
    ia, ib = _dtw_path(cost)
    return float(np.mean(cost[ia, ib]))


@dataclass
class EvalItem:
    """One test utterance: natural audio, its mel and what the models made of it."""

    id: str
    text: str
    audio: np.ndarray
    mel: np.ndarray


def evaluate(
    items: list[EvalItem],
    synth_trained: Callable[[int], np.ndarray],
    synth_untrained: Callable[[int], np.ndarray],
    cfg: AudioConfig,
    voc: VocoderConfig,
    on_item: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[dict[str, float], list[np.ndarray]]:
    """Metrics over ``items``; returns (summary, trained waveforms).

    ``synth_*`` map an item index to a log-mel spectrogram ``[n_mels, frames]``.
    """
    rows: list[dict[str, float]] = []
    frames: list[tuple[int, int]] = []
    waves: list[np.ndarray] = []
    sr = cfg.sample_rate
    with tempfile.TemporaryDirectory(prefix="voicelane-eval-") as tmp_name:
        tmp = Path(tmp_name)
        for k, item in enumerate(items):
            mel = synth_trained(k)
            wav = griffin_lim(mel, cfg, voc)
            waves.append(wav)
            frames.append((mel.shape[1], item.mel.shape[1]))
            untrained = griffin_lim(synth_untrained(k), cfg, voc)
            ceiling = griffin_lim(item.mel, cfg, voc)
            other = items[(k + 1) % len(items)].audio if len(items) > 1 else None
            row = {
                "mcd_heldout": mcd(item.audio, wav, sr, tmp),
                "mcd_untrained": mcd(item.audio, untrained, sr, tmp),
                "mcd_griffinlim_ceiling": mcd(item.audio, ceiling, sr, tmp),
                "lsd_heldout": log_spectral_distance(item.audio, wav, cfg),
                "duration_ratio": mel.shape[1] / item.mel.shape[1],
            }
            if other is not None:
                row["mcd_chance"] = mcd(item.audio, other, sr, tmp)
            rows.append(row)
            if on_item is not None:
                on_item(k, row)
    keys = sorted({key for row in rows for key in row})
    summary = {key: float(np.mean([row[key] for row in rows if key in row])) for key in keys}
    # Total predicted over total natural frames: long sentences weigh more.
    summary["duration_ratio"] = sum(p for p, _ in frames) / max(1, sum(n for _, n in frames))
    summary["eval_items"] = float(len(items))
    return summary, waves
