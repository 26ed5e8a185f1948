"""The artifact existence table: every declared output and bundle file of a gated run, as found now.

Paths come from the lane (result.json outputs, the bundle's files[]), so
bundle files are opened under the bundle root without following links.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.hashing import sha256_fd
from harness.safepaths import NotRegularFile, PathEscape, SymlinkRefused, normalize_relpath, open_root, open_under

#: Declared outputs, all relative to the run's out/ (``dataset_root`` is an input under the workdir).
ROLES = ("train_status", "dataset_manifest", "bundle")


def _row(run_id: int, role: str, path: str, exists: bool, size: int | None, digest: str | None) -> dict[str, Any]:
    return {"runId": run_id, "role": role, "path": path, "exists": exists, "bytes": size, "sha256": digest}


def _probe(run_id: int, role: str, shown: str, path: Path) -> dict[str, Any]:
    if path.is_dir() and not path.is_symlink():
        return _row(run_id, role, shown, True, None, None)
    digest = ev.file_sha256(path)
    size = path.stat().st_size if digest is not None else None
    return _row(run_id, role, shown, digest is not None, size, digest)


def artifact_rows(run_id: int, run: ev.RunFolder) -> list[dict[str, Any]]:
    rows = []
    for role in ROLES:
        declared = run.output(role)
        if declared:
            rows.append(_probe(run_id, "output:" + role, declared, run.resolve(declared)))
    bundle = run.bundle_dir()
    manifest = ev.bundle_manifest(run)
    if bundle is None or manifest is None:
        return rows
    prefix = run.output("bundle") or "bundle"
    listed = [f.get("path") for f in manifest.get("files") or [] if isinstance(f, dict)]
    names = ["manifest.json", *sorted({p for p in listed if isinstance(p, str)})]
    with open_root(bundle) as root_fd:
        for name in names:
            rows.append(_bundle_file(run_id, root_fd, prefix, name))
    return rows


def _bundle_file(run_id: int, root_fd: int, prefix: str, name: str) -> dict[str, Any]:
    shown = f"{prefix}/{name}"
    try:
        fd = open_under(root_fd, normalize_relpath(name))
    except (PathEscape, SymlinkRefused, NotRegularFile, OSError):
        return _row(run_id, "bundle", shown, False, None, None)
    try:
        digest, size = sha256_fd(fd)
    finally:
        os.close(fd)
    return _row(run_id, "bundle", shown, True, size, digest)
