"""voice_bundle/1 export, loading and verification.

A bundle is a flat folder: ``model.safetensors`` (never pickle), ``config.json``
(Piper ``.onnx.json``-like: audio/STFT, symbols, inference and vocoder
settings), ``sample.wav`` + ``sample.txt`` (the model speaking a held-out
sentence), ``metrics.json``, ``MODEL_CARD.md`` and ``manifest.json`` listing
every other file with sha256 and size. Every byte is a function of the inputs,
the seed and ``SOURCE_DATE_EPOCH``, so two runs give identical bundles.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from trainer.status import canonical_json, timestamp, write_atomic

BUNDLE_VERSION = "voice_bundle/1"
MODEL_FORMAT = "safetensors"
ARCHITECTURE = "voicelane-fastspeech-mas/1"
CODE_LICENSE = "Apache-2.0"
WEIGHTS_LICENSE = "CC0-1.0"
WEIGHTS_LICENSE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
FILE_ROLES = {
    "model.safetensors": "model",
    "config.json": "config",
    "sample.wav": "sample_audio",
    "sample.txt": "sample_text",
    "metrics.json": "metrics",
    "MODEL_CARD.md": "model_card",
}


class ExportError(Exception):
    """Writing the bundle failed (``export_failed``)."""


class BundleInvalidError(Exception):
    """The verifier did not pass the bundle (``bundle_invalid``)."""

    def __init__(self, message: str, findings: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.findings = findings


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_commit() -> str | None:
    """HEAD of the git checkout holding this package, or None outside one.

    Only the commit, not a dirty flag: in a shared working tree the flag could
    change between two runs and break bitwise determinism for no real reason.
    """
    repo = Path(__file__).resolve().parents[1]
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV bytes (deterministic: no timestamps in RIFF)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@dataclass
class BundleInputs:
    """Everything that goes into a bundle."""

    voice_profile_id: str
    display_name: str
    language: str
    sample_rate: int
    model_bytes: bytes
    parameter_count: int
    config: dict[str, Any]
    sample_audio: np.ndarray
    sample_text: str
    metrics: dict[str, Any]
    dataset_sha256: str
    dataset_name: str
    dataset_license: str
    seed: int


def model_card(inp: BundleInputs) -> str:
    """MODEL_CARD.md: what the voice is, how it was made, how good, which licence and why."""
    m = inp.metrics
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in sorted(m.items()))
    return f"""# {inp.display_name}

Voice profile `{inp.voice_profile_id}`, architecture `{ARCHITECTURE}`: a small
FastSpeech-style acoustic model (residual Conv1d encoder, duration predictor,
Conv1d decoder to 80-band log-mel) whose durations were learned with Monotonic
Alignment Search on a Gaussian prior, voiced by Griffin-Lim.
{inp.parameter_count} parameters, {inp.sample_rate} Hz, language `{inp.language}`.

## Training data

`{inp.dataset_name}` (dataset manifest sha256 `{inp.dataset_sha256}`, licence
`{inp.dataset_license}`): Harvard sentences (IEEE 1969, public domain)
synthesised by espeak-ng. Seed {inp.seed}.

## Evaluation (held-out test split, baselines from the same run)

| metric | value |
|---|---|
{rows}

MCD is mel-cepstral distortion in dB with DTW alignment (fmax 8 kHz), lower is
better. `mcd_untrained` is the same network before training, `mcd_chance` a
different natural sentence, `mcd_griffinlim_ceiling` the ground-truth mel
through the same vocoder (the best this vocoder allows).

## Intended use and limits

A reference lane for contract verification and a teaching example. It imitates
a formant synthesiser's voice; it is not a natural-sounding voice and must not
be used to impersonate anyone.

## Licences

* Code: `{CODE_LICENSE}`.
* Weights: `{WEIGHTS_LICENSE}` ({WEIGHTS_LICENSE_URL}); commercial use allowed.
  Why: the weights are learned only from audio that espeak-ng generated from
  public-domain sentences. espeak-ng is GPL-3.0 software, but the speech it
  outputs is program output, not a derivative work of its code, and carries no
  licence restriction; the texts are in the public domain. No third-party
  recordings, speakers or pretrained weights were used.
"""


def export_bundle(bundle_dir: Path, inp: BundleInputs) -> list[str]:
    """Write the bundle; returns the file names written, manifest.json last."""
    try:
        if bundle_dir.exists():
            shutil.rmtree(bundle_dir)  # stale files would be unlisted files
        bundle_dir.mkdir(parents=True)
        config_bytes = canonical_json(inp.config)
        files: dict[str, bytes] = {
            "model.safetensors": inp.model_bytes,
            "config.json": config_bytes,
            "sample.wav": wav_bytes(inp.sample_audio, inp.sample_rate),
            "sample.txt": (inp.sample_text.strip() + "\n").encode("utf-8"),
            "metrics.json": canonical_json(inp.metrics),
            "MODEL_CARD.md": model_card(inp).encode("utf-8"),
        }
        for name, data in files.items():
            write_atomic(bundle_dir / name, data)
        manifest = {
            "bundle_version": BUNDLE_VERSION,
            "voice_profile_id": inp.voice_profile_id,
            "display_name": inp.display_name,
            "created_at": timestamp(),
            "files": [
                {"path": n, "sha256": sha256_bytes(d), "bytes": len(d), "role": FILE_ROLES[n]}
                for n, d in sorted(files.items())
            ],
            "provenance": {
                "source_commit": source_commit(),
                "dataset_sha256": inp.dataset_sha256,
                "config_sha256": sha256_bytes(config_bytes),
                "trainer": "voicelane.trainer",
                "trainer_version": "0.1.0",
                "seed": inp.seed,
            },
            "audio": {"sample_rate": inp.sample_rate, "channels": 1, "language": inp.language},
            "model": {
                "path": "model.safetensors",
                "format": MODEL_FORMAT,
                "architecture": ARCHITECTURE,
                "parameter_count": inp.parameter_count,
            },
            "licenses": {
                "code": CODE_LICENSE,
                "weights": WEIGHTS_LICENSE,
                "commercial_use_allowed": True,
                "url": WEIGHTS_LICENSE_URL,
            },
            "eval": {k: v for k, v in inp.metrics.items() if isinstance(v, int | float | str)},
        }
        write_atomic(bundle_dir / "manifest.json", canonical_json(manifest))
    except OSError as exc:
        raise ExportError(f"cannot write bundle {bundle_dir}: {exc}") from exc
    return [*sorted(files), "manifest.json"]


def _builtin_check(bundle_dir: Path) -> list[dict[str, Any]]:
    """Minimal listed-files check used only when the harness is not installed."""
    findings: list[dict[str, Any]] = []
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in manifest.get("files", [])}
    for path, f in listed.items():
        p = bundle_dir / path
        if not p.is_file():
            findings.append({"code": "required_file_missing", "message": path})
        elif sha256_bytes(p.read_bytes()) != f["sha256"]:
            findings.append({"code": "checksum_mismatch", "message": path})
    present = {p.name for p in bundle_dir.iterdir() if p.name != "manifest.json"}
    findings += [{"code": "unlisted_file", "message": n} for n in sorted(present - set(listed))]
    return findings


def verify(bundle_dir: Path) -> tuple[str, str, list[dict[str, Any]]]:
    """Verify a bundle; returns (verdict, verifier name, failing findings).

    Uses the harness verifier (the same checks the harness runs). If the
    harness package is not importable (a trainer-only install), falls back to
    a built-in sha256/unlisted-file check and says so in the verifier name.
    """
    try:
        from harness.results import verdict
        from harness.verify.bundle import verify_bundle
    except ImportError:
        bad = _builtin_check(bundle_dir)
        return ("FAIL" if bad else "PASS"), "builtin", bad
    results = verify_bundle(bundle_dir)
    failing = [
        {
            "id": getattr(r, "id", ""),
            "code": getattr(r, "code", ""),
            "severity": str(getattr(r, "severity", "")),
            "status": str(getattr(r, "status", "")),
            "message": getattr(r, "message", ""),
        }
        for r in results
        if str(getattr(r, "status", "")).lower().split(".")[-1] not in ("pass", "passed", "skip", "skipped", "ok")
    ]
    outcome = verdict(results)
    return str(getattr(outcome, "value", outcome)), "harness", failing
