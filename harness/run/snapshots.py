"""``--snapshot-dir``: a normalized picture of a run, compared with the stored one.

The file is ``<dir>/<lane name>.json`` in syrupy's JSON snapshot format
(``JSONSnapshotExtension``: keys sorted, two-space indent, UTF-8, trailing
newline), so a pytest test using that extension reads the same file. What
changes on every run (times, volatile STATS, ``created_at``) is masked, so
a difference means the lane's behaviour changed. Drift is a soft finding.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from harness.atomic import write_atomic
from harness.hashing import sha256_path
from harness.jsonfile import JsonFileError, loads_strict
from harness.run.runner import Attempt
from harness.run.spec import LaneSpec
from harness.run.transcript import FILE as EVENTS_FILE
from harness.run.transcript import normalized, read_events
from harness.safepaths import walk_tree

MAX_EVENTS = 5000
MAX_DIFF_LINES = 200
VOLATILE_STATUS_KEYS = ("started_at", "finished_at", "updated_at")
VOLATILE_MANIFEST_KEYS = ("created_at",)

Outcome = tuple[str, str]


def serialize(data: Any) -> str:
    """Exactly what syrupy's JSONSnapshotExtension writes for plain JSON data."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def snapshot_path(snapshot_dir: Path, spec: LaneSpec) -> Path:
    return snapshot_dir / f"{spec.name}.json"


def build_snapshot(spec: LaneSpec, attempt: Attempt) -> dict[str, Any]:
    volatile = spec.volatile_stats
    events: list[Any] = []
    rest = hashlib.sha256()
    extra = 0
    for event in read_events(attempt.dir / EVENTS_FILE):
        norm = normalized(event, volatile)
        if len(events) < MAX_EVENTS:
            events.append(norm)
        else:
            extra += 1
            rest.update(orjson.dumps(norm, option=orjson.OPT_SORT_KEYS) + b"\n")
    if extra:
        events.append({"more_events": extra, "sha256": rest.hexdigest()})
    normalized_files = {spec.outputs.get("train_status")}
    if spec.outputs.get("bundle"):
        normalized_files.add(f"{spec.outputs['bundle']}/manifest.json")
    return {
        "lane": spec.name,
        "exit_code": attempt.exit_code,
        "transcript": events,
        "train_status": _status(spec, attempt),
        "bundle_manifest": _manifest(spec, attempt),
        "files": _files(attempt.out_dir, normalized_files),
    }


def _load(path: Path) -> Any:
    try:
        return loads_strict(path.read_bytes())
    except (OSError, JsonFileError):
        return None


def _status(spec: LaneSpec, attempt: Attempt) -> Any:
    rel = spec.outputs.get("train_status")
    doc = _load(attempt.out_dir / rel) if rel else None
    if not isinstance(doc, dict):
        return doc
    doc = {k: ("<volatile>" if k in VOLATILE_STATUS_KEYS else v) for k, v in doc.items()}
    if isinstance(doc.get("stats"), dict):
        doc["stats"] = {k: ("<volatile>" if k in spec.volatile_stats else v) for k, v in doc["stats"].items()}
    return doc


def _manifest(spec: LaneSpec, attempt: Attempt) -> Any:
    rel = spec.outputs.get("bundle")
    doc = _load(attempt.out_dir / rel / "manifest.json") if rel else None
    if isinstance(doc, dict):
        doc = {k: ("<volatile>" if k in VOLATILE_MANIFEST_KEYS else v) for k, v in doc.items()}
    return doc


def _files(root: Path, normalized_files: set[str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rel, kind in walk_tree(root):
        if kind == "dir":
            continue
        if kind != "file":
            out[rel] = {"kind": kind}
        elif rel in normalized_files:
            out[rel] = {"sha256": "<normalized above>"}
        else:
            digest, size = sha256_path(root / rel)
            out[rel] = {"sha256": digest, "bytes": size}
    return out


def check_snapshot(spec: LaneSpec, attempt: Attempt, snapshot_dir: Path | None, update: bool) -> Outcome:
    if snapshot_dir is None:
        return "skip", "no --snapshot-dir given"
    if attempt.spawn_error is not None:
        return "skip", "the lane did not start"
    path = snapshot_path(snapshot_dir, spec)
    text = serialize(build_snapshot(spec, attempt))
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
        return "pass", ""
    try:
        stored = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "fail", f"no stored snapshot {path}; run with --update-snapshots to write it"
    if stored == text:
        return "pass", ""
    diff = list(difflib.unified_diff(stored.splitlines(), text.splitlines(), str(path), "this run", lineterm=""))
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... {len(diff) - MAX_DIFF_LINES} more diff lines"]
    return "fail", "snapshot differs from the stored one:\n" + "\n".join(diff)
