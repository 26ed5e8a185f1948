"""dataset_manifest/1 (or NeMo-style JSONL): the schema, then every entry against its audio."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.audio import AudioError, AudioInfo, probe_fd
from harness.catalogue import Checklist
from harness.hashing import parallel_map, sha256_fd
from harness.jsonfile import JsonFileError, loads_strict, read_fd
from harness.results import Result
from harness.safepaths import (
    NotRegularFile,
    PathEscape,
    SymlinkRefused,
    normalize_relpath,
    open_root,
    open_under,
)

#: Seconds by which a declared duration may differ from the file's.
DURATION_TOLERANCE_S = 0.010
VERSION = "dataset_manifest/1"


class ManifestError(Exception):
    """The manifest cannot be read as dataset_manifest/1; one message per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def load_dataset_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a dataset manifest (JSON document or NeMo-style JSONL) as a dataset_manifest/1 dict.

    JSONL lines become ``entries``; schema errors name the JSONL line. Raises
    ``ManifestError`` for anything that is not a valid manifest.
    """
    from harness.schemas import schema_errors

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        data = read_fd(fd)
    except JsonFileError as exc:
        raise ManifestError([str(exc)]) from None
    finally:
        os.close(fd)
    try:
        doc: Any = loads_strict(data)
        jsonl = isinstance(doc, dict) and "manifest_version" not in doc and "audio_filepath" in doc
    except JsonFileError as exc:
        if data.count(b"\n") < 1 or str(path).endswith(".json"):
            raise ManifestError([str(exc)]) from None
        doc, jsonl = None, True
    if jsonl:
        doc = {"manifest_version": VERSION, "entries": _jsonl_entries(data)}
    errors = schema_errors(VERSION, doc)
    if jsonl:
        errors = [_jsonl_location(m) for m in errors]
    if errors:
        raise ManifestError(errors)
    return dict(doc)


def _jsonl_entries(data: bytes) -> list[Any]:
    entries: list[Any] = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append(loads_strict(line))
        except JsonFileError as exc:
            raise ManifestError([f"line {n}: {exc}"]) from None
    return entries


def _jsonl_location(message: str) -> str:
    """``/entries/3/text: ...`` → ``entry 4 (JSONL line): /text: ...``."""
    if message.startswith("/entries/"):
        index, _, rest = message[len("/entries/") :].partition("/")
        if index.isdigit():
            return f"JSONL entry {int(index) + 1}: /{rest}"
    return message


Finding = tuple[str, str]  # (rule id, message)


def verify_dataset(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> list[Result]:
    """Check a dataset manifest and its audio under ``root`` (default: the manifest's folder)."""
    path = Path(path)
    checks = Checklist("dataset", str(path))
    if not checks.require_file("DATASET-present", path, "dataset manifest"):
        return checks.results()
    try:
        doc = load_dataset_manifest(path)
    except (ManifestError, OSError) as exc:
        for message in getattr(exc, "messages", [str(exc)]):
            checks.fail("DATASET-schema", message)
        checks.skip_rest("the manifest is not valid dataset_manifest/1")
        return checks.results()
    checks.checked("DATASET-schema")
    root_dir = Path(root) if root is not None else path.parent
    if not root_dir.is_dir():
        checks.error("DATASET-audio-exists", f"dataset root {root_dir} is not a folder")
        checks.skip_rest("the dataset root is not a folder")
        return checks.results()
    with open_root(root_dir) as root_fd:
        _check_entries(doc, root_fd, checks)
    return checks.results()


def _check_entries(doc: dict[str, Any], root_fd: int, checks: Checklist) -> None:
    entries: list[dict[str, Any]] = doc["entries"]
    _check_duplicates(entries, checks)
    _check_pinned(entries, checks)
    header_rate = doc.get("sample_rate")
    # One worker per entry opens, measures and closes its own file: at most a
    # few descriptors are open whatever the dataset size, and order is kept.
    per_entry = parallel_map(lambda e: _entry_findings(e, root_fd, header_rate), entries)
    for i, findings in enumerate(per_entry):
        for rule_id, message in findings:
            checks.fail(rule_id, message, _where(i))
    checks.checked(
        "DATASET-path-escape",
        "DATASET-audio-exists",
        "DATASET-bytes",
        "DATASET-checksum",
        "DATASET-audio-decodable",
        "DATASET-duration",
        "DATASET-sample-rate",
    )


def _where(index: int) -> str:
    return f"/entries/{index}"


def _entry_findings(entry: dict[str, Any], root_fd: int, header_rate: int | None) -> list[Finding]:
    raw = entry["audio_filepath"]
    try:
        rel = normalize_relpath(raw)
        fd = open_under(root_fd, rel)
    except PathEscape as exc:
        return [("DATASET-path-escape", f"{raw!r}: {exc}")]
    except SymlinkRefused:
        return [("DATASET-path-escape", f"{raw!r} goes through a symbolic link")]
    except NotRegularFile:
        return [("DATASET-audio-exists", f"{raw} is not a regular file")]
    except FileNotFoundError:
        return [("DATASET-audio-exists", f"{raw} does not exist under the dataset root")]
    except OSError as exc:
        return [("DATASET-audio-exists", f"{raw} cannot be opened: {exc.strerror}")]
    try:
        return _file_findings(rel, entry, fd, header_rate)
    finally:
        os.close(fd)


def _file_findings(rel: str, entry: dict[str, Any], fd: int, header_rate: int | None) -> list[Finding]:
    findings: list[Finding] = []
    size = os.fstat(fd).st_size
    if "bytes" in entry and size != entry["bytes"]:
        findings.append(("DATASET-bytes", f"{rel} has {size} bytes, manifest says {entry['bytes']}"))
    elif "sha256" in entry:
        digest = sha256_fd(fd)[0]
        if digest != entry["sha256"]:
            findings.append(("DATASET-checksum", f"{rel} has sha256 {digest}, manifest says {entry['sha256']}"))
        os.lseek(fd, 0, os.SEEK_SET)
    try:
        info: AudioInfo = probe_fd(fd)
    except AudioError as exc:
        findings.append(("DATASET-audio-decodable", f"{rel} does not decode: {exc}"))
        return findings
    if abs(info.duration - entry["duration"]) > DURATION_TOLERANCE_S:
        findings.append(("DATASET-duration", f"{rel} lasts {info.duration:.3f} s, manifest says {entry['duration']}"))
    rate = entry.get("sample_rate", header_rate)
    if rate is not None and rate != info.sample_rate:
        findings.append(("DATASET-sample-rate", f"{rel} is {info.sample_rate} Hz, manifest says {rate}"))
    return findings


def _check_duplicates(entries: list[dict[str, Any]], checks: Checklist) -> None:
    for key in ("id", "audio_filepath"):
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            value = entry.get(key)
            if value is None:
                continue
            if value in seen:
                checks.fail("DATASET-duplicate", f"{key} {value!r} also used by entry {seen[value]}", _where(i))
            else:
                seen[value] = i
    checks.checked("DATASET-duplicate")


def _check_pinned(entries: list[dict[str, Any]], checks: Checklist) -> None:
    unpinned = [i for i, e in enumerate(entries) if "sha256" not in e or "bytes" not in e]
    if unpinned:
        checks.fail(
            "DATASET-pinned",
            f"{len(unpinned)} of {len(entries)} entries lack sha256 or bytes (first: entry {unpinned[0]})",
            _where(unpinned[0]),
        )
    checks.checked("DATASET-pinned")
