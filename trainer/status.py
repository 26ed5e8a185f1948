"""train_status/1 documents, canonical JSON files and reproducible timestamps."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainer.protocol import clean

JOB_TYPE = "tts_train"


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, two-space indent, trailing newline: same object, same bytes."""
    text = json.dumps(clean(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and ``os.replace``.

    A reader (the harness, a progress UI) sees the old file or the new one,
    never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def timestamp() -> str:
    """RFC 3339 UTC time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(sde), UTC) if sde and sde.isdigit() else datetime.now(UTC)
    return when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatusWriter:
    """Keeps the lane's train_status.json current; every write is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started_at = timestamp()

    def write(
        self,
        state: str,
        progress: tuple[int, int] | None = None,
        stats: dict[str, Any] | None = None,
        artifacts: list[str] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        doc: dict[str, Any] = {"job_type": JOB_TYPE, "state": state, "started_at": self.started_at}
        if progress is not None:
            doc["progress"] = {"current": progress[0], "total": progress[1]}
        if stats:
            doc["stats"] = stats
        if artifacts is not None:
            doc["artifacts"] = artifacts
        if error is not None:
            doc["error"] = error
        if state in ("completed", "error", "blocked"):
            doc["finished_at"] = timestamp()
        write_atomic(self.path, canonical_json(doc))
