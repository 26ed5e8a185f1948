"""Pictures for the HTML report: the loss curve, the sample's waveform and spectrogram.

Drawn with matplotlib's object API on the Agg backend (no display, no global
pyplot state) and returned as base64 PNGs to embed, so the page is one
self-contained file. Inputs are lane-written and bounded: events are read
line by line and thinned, and sample.wav is opened under the bundle root
without following links, with a size cap.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.safepaths import NotRegularFile, PathEscape, SymlinkRefused, open_root, open_under

MAX_POINTS = 5_000
MAX_EVENT_LINE = 1 << 20
MAX_EVENT_LINES = 2_000_000
MAX_SAMPLE_BYTES = 32 << 20


def loss_points(events: Path) -> list[tuple[float, float]]:
    """(step, loss) from the STATS events of events.jsonl; x is the event count when no STATS gives a step."""
    points: list[tuple[float, float]] = []
    stepped: list[tuple[float, float] | None] = []
    unstepped: list[float] = []
    try:
        f = events.open("rb")
    except OSError:
        return points
    with f:
        for n, raw in enumerate(f):
            if n >= MAX_EVENT_LINES:
                break
            if len(raw) > MAX_EVENT_LINE:
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            payload = event.get("payload") if isinstance(event, dict) and event.get("kind") == "stats" else None
            if not isinstance(payload, dict):
                continue
            loss, step = payload.get("loss"), payload.get("step")
            if isinstance(loss, int | float) and not isinstance(loss, bool) and abs(loss) < 1e300:
                stepped.append((float(step), float(loss)) if type(step) is int else None)
                unstepped.append(float(loss))
    # A summary STATS without a step (e.g. the final export tick) is not a training point:
    # when any STATS carries a step, only those are plotted; otherwise x is the event index.
    points = [p for p in stepped if p is not None] or [(float(i), v) for i, v in enumerate(unstepped)]
    if len(points) > MAX_POINTS:
        stride = -(-len(points) // MAX_POINTS)
        points = points[::stride]
    return points


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float = 8.0, height: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="tight")
    return fig


def loss_png(points: list[tuple[float, float]]) -> str | None:
    if not points:
        return None
    fig = _figure()
    ax = fig.subplots()
    ax.plot([p[0] for p in points], [p[1] for p in points], color="#1f6feb", linewidth=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training loss (STATS)")
    ax.grid(True, alpha=0.3)
    return _png(fig)


def sample_wav(run: ev.RunFolder) -> bytes | None:
    """The bytes of the bundle's sample.wav, opened safely under the bundle root, or None."""
    bundle = run.bundle_dir()
    if bundle is None or not bundle.is_dir():
        return None
    try:
        with open_root(bundle) as root_fd:
            fd = open_under(root_fd, "sample.wav")
            try:
                if os.fstat(fd).st_size > MAX_SAMPLE_BYTES:
                    return None
                with os.fdopen(os.dup(fd), "rb") as f:
                    return f.read(MAX_SAMPLE_BYTES + 1)[:MAX_SAMPLE_BYTES]
            finally:
                os.close(fd)
    except (PathEscape, SymlinkRefused, NotRegularFile, OSError):
        return None


def audio_pngs(wav: bytes) -> tuple[str | None, str | None]:
    """(waveform, spectrogram) of a WAV, or (None, None) when soundfile cannot decode it."""
    import numpy as np
    import soundfile as sf

    try:
        data, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    except Exception:  # soundfile raises several types for undecodable input
        return None, None
    if data.size == 0 or rate <= 0:
        return None, None
    mono = data.mean(axis=1)
    t = np.arange(mono.size) / rate
    fig = _figure()
    ax = fig.subplots()
    ax.plot(t, mono, color="#444", linewidth=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.set_title(f"sample.wav waveform ({rate} Hz, {mono.size / rate:.2f} s)")
    wave = _png(fig)
    fig = _figure()
    ax = fig.subplots()
    nfft = 512 if mono.size >= 512 else max(16, 1 << (mono.size.bit_length() - 1))
    ax.specgram(mono, NFFT=nfft, Fs=rate, noverlap=nfft * 3 // 4, cmap="magma")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title("sample.wav spectrogram")
    return wave, _png(fig)


def run_pictures(run: ev.RunFolder) -> dict[str, str | None]:
    """Every picture of one run, and the sample as base64 for the page's audio player."""
    wav = sample_wav(run)
    wave, spec = audio_pngs(wav) if wav else (None, None)
    return {
        "loss": loss_png(loss_points(run.path / "events.jsonl")),
        "waveform": wave,
        "spectrogram": spec,
        "audio": base64.b64encode(wav).decode("ascii") if wav and wave else None,
    }
