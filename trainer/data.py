"""Dataset loading: dataset_manifest/1 (JSON or NeMo-style JSONL), tokens, mels.

Anything wrong with the input raises :class:`DatasetError` carrying the stable
error code that ends up in ``train_status.json`` (``dataset_invalid`` or
``dataset_no_audio``).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from trainer.audio import AudioConfig, log_mel

PAD, BOS, EOS = "_", "^", "$"
BASE_SYMBOLS = [PAD, BOS, EOS, " ", ",", ".", ";", ":", "!", "?"]
MANIFEST_VERSION = "dataset_manifest/1"


class DatasetError(Exception):
    """Invalid training data; ``code`` is the train_status error code."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass
class Utterance:
    """One manifest entry, with its audio features once loaded."""

    entry: dict[str, Any]
    symbols: str
    split: str
    mel: np.ndarray | None = None  # raw log-mel [n_mels, frames]
    audio: np.ndarray | None = None

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def text(self) -> str:
        return str(self.entry["text"])


@dataclass
class Manifest:
    """The parsed manifest: header fields and entries, in file order."""

    header: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)
    uses_phonemes: bool = True

    def to_document(self) -> dict[str, Any]:
        """The dataset_manifest/1 document the trainer actually trained on."""
        doc = {k: v for k, v in self.header.items() if k != "entries"}
        doc["manifest_version"] = MANIFEST_VERSION
        doc["entries"] = self.entries
        return doc


def read_manifest(path: Path) -> Manifest:
    """Parse a dataset_manifest/1 JSON document or a NeMo-style JSONL file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError("dataset_invalid", f"cannot read manifest {path}: {exc}") from exc
    stripped = raw.lstrip()
    try:
        if stripped.startswith("{") and not _looks_like_jsonl(stripped):
            doc = json.loads(raw)
            if not isinstance(doc, dict):
                raise DatasetError("dataset_invalid", "manifest is not a JSON object")
            if doc.get("manifest_version") != MANIFEST_VERSION:
                raise DatasetError(
                    "dataset_invalid",
                    f"manifest_version must be {MANIFEST_VERSION!r}, got {doc.get('manifest_version')!r}",
                )
            entries = doc.get("entries")
            header = {k: v for k, v in doc.items() if k != "entries"}
        else:
            entries = [json.loads(line) for line in raw.splitlines() if line.strip()]
            header = {"manifest_version": MANIFEST_VERSION, "name": path.stem}
    except json.JSONDecodeError as exc:
        raise DatasetError("dataset_invalid", f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DatasetError("dataset_invalid", "manifest entries must be a list of objects")
    for i, entry in enumerate(entries):
        for key, typ in (("audio_filepath", str), ("text", str), ("duration", (int, float))):
            if not isinstance(entry.get(key), typ):
                raise DatasetError("dataset_invalid", f"entry {i}: missing or mistyped {key!r}", {"entry": i})
        entry.setdefault("id", f"utt{i:05d}")
    uses_phonemes = bool(entries) and all(isinstance(e.get("phonemes"), str) for e in entries)
    return Manifest(header=header, entries=entries, uses_phonemes=uses_phonemes)


def _looks_like_jsonl(text: str) -> bool:
    """A JSONL file has more than one non-empty line each parsing as an object."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(ln), dict) for ln in lines[:2])
    except json.JSONDecodeError:
        return False


def normalise_symbols(text: str, use_phonemes: bool) -> str:
    """NFC-normalised symbol string; characters are lower-cased when not phonemes."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return text if use_phonemes else text.lower()


def build_symbols(manifest: Manifest) -> list[str]:
    """Symbol inventory: fixed specials first, then every symbol seen, sorted."""
    key = "phonemes" if manifest.uses_phonemes else "text"
    seen: set[str] = set()
    for e in manifest.entries:
        seen.update(normalise_symbols(str(e[key]), manifest.uses_phonemes))
    return BASE_SYMBOLS + sorted(seen - set(BASE_SYMBOLS))


def encode(symbols: str, symbol_ids: dict[str, int]) -> list[int]:
    """``^ _ s1 _ s2 ... sN _ $``: blanks between symbols, as in Glow-TTS.

    Unknown symbols are dropped (speak-time text may contain symbols never seen
    in training; there is nothing better to do with them).
    """
    ids = [symbol_ids[BOS], symbol_ids[PAD]]
    for s in symbols:
        if s in symbol_ids and s != PAD:
            ids += [symbol_ids[s], symbol_ids[PAD]]
    ids.append(symbol_ids[EOS])
    return ids


def assign_splits(manifest: Manifest) -> list[Utterance]:
    """Utterances with a split each; a manifest without a test split gets one.

    Without explicit splits the last entry is held out as test (when there are
    at least two), so evaluation is always on audio the model did not train on.
    """
    key = "phonemes" if manifest.uses_phonemes else "text"
    utts = [
        Utterance(
            entry=e,
            symbols=normalise_symbols(str(e[key]), manifest.uses_phonemes),
            split=str(e.get("split", "train")),
        )
        for e in manifest.entries
    ]
    if len(utts) >= 2 and not any(u.split == "test" for u in utts):
        utts[-1].split = "test"
    if not any(u.split == "train" for u in utts):
        raise DatasetError("dataset_no_audio", "manifest has no training entries")
    return utts


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_audio(root: Path, rel: str) -> Path:
    """Resolve ``rel`` under ``root``; refuse absolute paths and escapes."""
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts:
        raise DatasetError("dataset_invalid", f"audio path escapes the dataset root: {rel}")
    return root / p


def check_audio_present(utts: list[Utterance], root: Path) -> None:
    """Fail early, with the right code, when audio is missing."""
    if not utts:
        raise DatasetError("dataset_no_audio", "manifest has no entries")
    missing = [u.entry["audio_filepath"] for u in utts if not resolve_audio(root, u.entry["audio_filepath"]).is_file()]
    if len(missing) == len(utts):
        raise DatasetError(
            "dataset_no_audio",
            f"none of the {len(utts)} audio files exist under {root}",
            {"missing": missing[:10]},
        )
    if missing:
        raise DatasetError("dataset_invalid", f"{len(missing)} audio files are missing", {"missing": missing[:10]})


def load_utterance(utt: Utterance, root: Path, cfg: AudioConfig) -> None:
    """Read, check and featurise one utterance in place."""
    rel = utt.entry["audio_filepath"]
    path = resolve_audio(root, rel)
    digest, size = sha256_file(path), path.stat().st_size
    if utt.entry.get("sha256", digest) != digest:
        raise DatasetError("dataset_invalid", f"sha256 mismatch for {rel}", {"path": rel})
    if utt.entry.get("bytes", size) != size:
        raise DatasetError("dataset_invalid", f"byte count mismatch for {rel}", {"path": rel})
    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DatasetError("dataset_invalid", f"cannot decode {rel}: {exc}") from exc
    if sr != cfg.sample_rate:
        raise DatasetError(
            "dataset_invalid",
            f"{rel} is {sr} Hz; this trainer needs {cfg.sample_rate} Hz",
            {"path": rel, "sample_rate": sr},
        )
    mono = audio.mean(axis=1)
    if mono.size < cfg.n_fft:
        raise DatasetError("dataset_invalid", f"{rel} is too short to featurise")
    # Record what was actually trained on (a JSONL input may lack these facts).
    utt.entry.update(
        sha256=digest,
        bytes=size,
        sample_rate=sr,
        duration=round(mono.size / sr, 6),
        split=utt.split,
    )
    utt.audio = mono
    utt.mel = log_mel(mono, cfg)


def batches(order: list[int], lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Length-bucketed batches from a (seeded) order: sort chunks by length."""
    for start in range(0, len(order), batch_size * 4):
        chunk = sorted(order[start : start + batch_size * 4], key=lambda i: (lengths[i], i))
        for b in range(0, len(chunk), batch_size):
            yield chunk[b : b + batch_size]
