"""voice_bundle/1: the manifest, every listed file, and what a usable voice must carry."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from harness.audio import AudioError, probe_fd
from harness.catalogue import Checklist
from harness.hashing import sha256_fd, workers
from harness.jsonfile import JsonFileError, loads_strict, read_fd
from harness.results import Result
from harness.safepaths import (
    NotRegularFile,
    PathEscape,
    SymlinkRefused,
    normalize_relpath,
    open_root,
    open_under,
    walk_tree,
)

MANIFEST = "manifest.json"
SAMPLE = "sample.wav"
MODEL_SUFFIXES = (".safetensors", ".onnx", ".nemo", ".pt", ".ckpt")
MIN_SAMPLE_SECONDS = 0.2


Finding = tuple[str, str]  # (rule id, message)


@dataclass(frozen=True, slots=True)
class _Listed:
    path: str  # normalized
    sha256: str
    bytes: int


def verify_bundle(root: str | os.PathLike[str]) -> list[Result]:
    """Check the bundle folder ``root`` against voice_bundle/1."""
    root = Path(root)
    checks = Checklist("bundle", str(root))
    try:
        _verify(root, checks)
    except OSError as exc:  # the folder vanished or became unreadable mid-check
        for rid in ("BUNDLE-file-present", "BUNDLE-checksum", "BUNDLE-bytes"):
            checks.error(rid, f"could not read the bundle: {exc}")
        checks.skip_rest("the bundle could not be read")
    return checks.results()


def _verify(root: Path, checks: Checklist) -> None:
    if not root.is_dir():
        checks.fail("BUNDLE-manifest-present", f"{root} is not a folder", str(root))
        checks.skip_rest("there is no bundle folder")
        return
    with open_root(root) as root_fd, ThreadPoolExecutor(max_workers=workers()) as pool:
        doc = _read_manifest(root_fd, checks)
        # Hashing is the long part and needs only the parsed JSON: start it now, so that
        # schema validation, the sample decode and the tree walk (and the imports they
        # need) overlap with it. A listing that then fails the schema is simply ignored.
        hashing = _start_hashing(pool, root_fd, doc)
        manifest = _validate_manifest(doc, checks) if doc is not None else None
        tree_files = _check_tree(root, checks)
        if manifest is None:
            checks.skip_rest("manifest.json could not be read")
            return
        listed = _check_listing(manifest, checks)
        _check_contents(root_fd, manifest, listed, checks)
        _check_unlisted(tree_files, listed, checks)
        _check_licenses(manifest, checks)
        _check_files(pool, root_fd, listed, hashing, checks)


def _start_hashing(pool: ThreadPoolExecutor, root_fd: int, doc: Any) -> dict[_Listed, Future[Finding | None]]:
    """Submit the file check of every well-shaped files[] entry, first occurrence of each path."""
    started: dict[_Listed, Future[Finding | None]] = {}
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        return started
    seen: set[str] = set()
    for entry in files:
        if not isinstance(entry, dict):
            continue
        path, digest, size = entry.get("path"), entry.get("sha256"), entry.get("bytes")
        if not (isinstance(path, str) and isinstance(digest, str) and type(size) is int) or not _safe(path):
            continue
        item = _Listed(normalize_relpath(path), digest, size)
        if item.path not in seen and item.path != MANIFEST:
            seen.add(item.path)
            started[item] = pool.submit(_file_finding, root_fd, item)
    return started


def _read_manifest(root_fd: int, checks: Checklist) -> Any:
    """The parsed manifest.json (strict JSON), or None with the finding recorded."""
    where = MANIFEST
    try:
        fd = open_under(root_fd, MANIFEST)
    except FileNotFoundError:
        checks.fail("BUNDLE-manifest-present", "manifest.json is missing", where)
        return None
    except SymlinkRefused:
        checks.fail("BUNDLE-manifest-present", "manifest.json is a symbolic link", where)
        return None
    except (NotRegularFile, OSError) as exc:
        checks.fail("BUNDLE-manifest-present", f"manifest.json cannot be opened: {exc}", where)
        return None
    checks.checked("BUNDLE-manifest-present")
    try:
        return loads_strict(read_fd(fd))
    except JsonFileError as exc:
        checks.fail("BUNDLE-manifest-schema", f"manifest.json: {exc}", where)
        return None
    finally:
        os.close(fd)


def _validate_manifest(doc: Any, checks: Checklist) -> dict[str, Any] | None:
    from harness.schemas import schema_errors  # imported while the first files hash

    errors = schema_errors("voice_bundle/1", doc)
    for message in errors:
        checks.fail("BUNDLE-manifest-schema", message, MANIFEST)
    if errors:
        return None
    checks.checked("BUNDLE-manifest-schema")
    return dict(doc)


def _check_listing(manifest: dict[str, Any], checks: Checklist) -> list[_Listed]:
    """Paths that are safe to open, each once; escapes and duplicates become findings."""
    seen: set[str] = set()
    listed: list[_Listed] = []
    for i, entry in enumerate(manifest["files"]):
        where = f"{MANIFEST}:/files/{i}"
        try:
            path = normalize_relpath(entry["path"])
        except PathEscape as exc:
            checks.fail("BUNDLE-path-escape", f"{entry['path']!r}: {exc}", where)
            continue
        if path == MANIFEST:
            checks.fail("BUNDLE-duplicate-path", "files[] lists manifest.json itself", where)
            continue
        if path in seen:
            checks.fail("BUNDLE-duplicate-path", f"{path} is listed more than once", where)
            continue
        seen.add(path)
        listed.append(_Listed(path, entry["sha256"], entry["bytes"]))
    checks.checked("BUNDLE-path-escape", "BUNDLE-duplicate-path")
    return listed


def _check_files(
    pool: ThreadPoolExecutor,
    root_fd: int,
    listed: list[_Listed],
    started: dict[_Listed, Future[Finding | None]],
    checks: Checklist,
) -> None:
    """Existence, size and streamed digest of every listed file, a few files at a time."""
    futures = [started.get(item) or pool.submit(_file_finding, root_fd, item) for item in listed]
    for item, future in zip(listed, futures, strict=True):
        finding = future.result()
        if finding is not None:
            checks.fail(finding[0], finding[1], item.path)
    checks.checked("BUNDLE-file-present", "BUNDLE-bytes", "BUNDLE-checksum")


def _file_finding(root_fd: int, item: _Listed) -> Finding | None:
    try:
        fd = open_under(root_fd, item.path)
    except SymlinkRefused:
        return None  # the tree walk reports every link
    except (FileNotFoundError, NotRegularFile) as exc:
        return ("BUNDLE-file-present", f"{item.path}: {_why(exc)}")
    try:
        size = os.fstat(fd).st_size
        if size != item.bytes:
            return ("BUNDLE-bytes", f"{item.path} has {size} bytes, manifest says {item.bytes}")
        digest = sha256_fd(fd)[0]
    finally:
        os.close(fd)
    if digest != item.sha256:
        return ("BUNDLE-checksum", f"{item.path} has sha256 {digest}, manifest says {item.sha256}")
    return None


def _why(exc: OSError) -> str:
    return "not a regular file" if isinstance(exc, NotRegularFile) else "missing"


def _check_contents(root_fd: int, manifest: dict[str, Any], listed: list[_Listed], checks: Checklist) -> None:
    paths = {item.path for item in listed}
    model_path = (manifest.get("model") or {}).get("path")
    model_names = {normalize_relpath(model_path)} if isinstance(model_path, str) and _safe(model_path) else set()
    if any(p in model_names or PurePosixPath(p).name == "model.bin" or p.endswith(MODEL_SUFFIXES) for p in paths):
        checks.checked("BUNDLE-model-present")
    else:
        checks.fail("BUNDLE-model-present", "no listed file is a model", MANIFEST)

    samples = sorted((p for p in paths if PurePosixPath(p).name == SAMPLE), key=lambda p: (p.count("/"), p))
    if not samples:
        checks.fail("BUNDLE-sample-present", "files[] lists no sample.wav", MANIFEST)
        checks.skip("BUNDLE-sample-audio", "there is no sample.wav to decode")
        return
    checks.checked("BUNDLE-sample-present")
    _check_sample(root_fd, samples[0], checks)


def _safe(path: Any) -> bool:
    try:
        normalize_relpath(path)
    except (PathEscape, TypeError):
        return False
    return True


def _check_sample(root_fd: int, path: str, checks: Checklist) -> None:
    try:
        fd = open_under(root_fd, path)
    except OSError:
        checks.skip("BUNDLE-sample-audio", f"{path} cannot be opened (see the file findings)")
        return
    try:
        info = probe_fd(fd, measure_peak=True)
    except AudioError as exc:
        checks.fail("BUNDLE-sample-audio", f"{path} does not decode: {exc}", path)
        return
    finally:
        os.close(fd)
    if info.duration < MIN_SAMPLE_SECONDS:
        checks.fail("BUNDLE-sample-audio", f"{path} lasts {info.duration:.3f} s, under {MIN_SAMPLE_SECONDS} s", path)
    elif info.peak is not None and info.peak < 1e-3:
        checks.fail("BUNDLE-sample-audio", f"{path} is silent (peak {info.peak:.2e})", path)
    else:
        checks.checked("BUNDLE-sample-audio")


def _check_tree(root: Path, checks: Checklist) -> list[str]:
    """Report every link in the folder; return the other non-folder entries."""
    files: list[str] = []
    for rel, kind in walk_tree(root):
        if kind == "link":
            checks.fail("BUNDLE-symlink", f"{rel} is a symbolic link", rel)
        elif kind != "dir":
            files.append(rel)
    checks.checked("BUNDLE-symlink")
    return files


def _check_unlisted(tree_files: list[str], listed: list[_Listed], checks: Checklist) -> None:
    known = {item.path for item in listed} | {MANIFEST}
    for rel in tree_files:
        if rel not in known:
            checks.fail("BUNDLE-unlisted", f"{rel} is in the bundle but not in files[]", rel)
    checks.checked("BUNDLE-unlisted")


def _check_licenses(manifest: dict[str, Any], checks: Checklist) -> None:
    allowed = (manifest.get("licenses") or {}).get("commercial_use_allowed")
    if allowed is False:
        weights = (manifest.get("licenses") or {}).get("weights", "unstated")
        checks.fail(
            "BUNDLE-license-commercial",
            f"commercial use of the weights is not allowed (weights licence: {weights})",
            MANIFEST,
        )
    else:
        checks.checked("BUNDLE-license-commercial")
    if allowed is None:
        checks.fail("BUNDLE-license-stated", "licenses.commercial_use_allowed is not stated", MANIFEST)
    else:
        checks.checked("BUNDLE-license-stated")
