"""train_status/1: the schema, then whether the document agrees with itself and the disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.catalogue import Checklist
from harness.jsonfile import JsonFileError, loads_strict, read_fd, read_json_file
from harness.results import Result
from harness.safepaths import (
    NotRegularFile,
    PathEscape,
    SymlinkRefused,
    normalize_relpath,
    open_root,
    open_under,
)


def load_status(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The parsed train_status document, or None when it is absent or not JSON."""
    doc = read_json_file(path)
    return doc if isinstance(doc, dict) else None


def verify_status(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> list[Result]:
    """Check ``path`` against train_status/1; listed artifacts resolve under ``root``.

    ``root`` defaults to the folder that holds the status file.
    """
    path = Path(path)
    checks = Checklist("status", str(path))
    if not checks.require_file("STATUS-present", path, "train_status document"):
        return checks.results()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            doc = loads_strict(read_fd(fd))
        finally:
            os.close(fd)
    except (JsonFileError, OSError) as exc:
        checks.fail("STATUS-schema", f"{path.name}: {exc}")
        checks.skip_rest("train_status is not JSON")
        return checks.results()
    errors = schema_errors_for(doc)
    for message in errors:
        checks.fail("STATUS-schema", message)
    if errors:
        checks.skip_rest("train_status does not match its schema")
        return checks.results()
    checks.checked("STATUS-schema")

    progress = doc.get("progress")
    if doc["state"] == "completed" and progress["current"] != progress["total"]:
        checks.fail(
            "STATUS-progress-complete",
            f"state is completed but progress is {progress['current']}/{progress['total']}",
        )
    checks.checked("STATUS-progress-complete")
    _check_artifacts(doc.get("artifacts", []), Path(root) if root is not None else path.parent, checks)
    return checks.results()


def schema_errors_for(doc: Any) -> list[str]:
    from harness.schemas import schema_errors

    return schema_errors("train_status/1", doc)


def _check_artifacts(artifacts: list[str], root: Path, checks: Checklist) -> None:
    if not artifacts:
        checks.checked("STATUS-artifacts-exist")
        return
    if not root.is_dir():
        checks.fail("STATUS-artifacts-exist", f"artifact root {root} is not a folder")
        return
    with open_root(root) as root_fd:
        for i, raw in enumerate(artifacts):
            where = f"/artifacts/{i}"
            try:
                fd = open_under(root_fd, normalize_relpath(raw))
            except PathEscape as exc:
                checks.fail("STATUS-artifacts-exist", f"{raw!r} leaves the output root: {exc}", where)
            except SymlinkRefused:
                checks.fail("STATUS-artifacts-exist", f"{raw!r} goes through a symbolic link", where)
            except (FileNotFoundError, NotRegularFile):
                checks.fail("STATUS-artifacts-exist", f"{raw!r} does not exist under {root}", where)
            except OSError as exc:
                checks.fail("STATUS-artifacts-exist", f"{raw!r} cannot be opened: {exc.strerror}", where)
            else:
                os.close(fd)
    checks.checked("STATUS-artifacts-exist")
