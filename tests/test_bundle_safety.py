"""Hostile bundles: the verifier never raises, never hangs and never opens anything outside the root.

An audit hook records every ``open`` the interpreter performs while the
verifier runs; relative opens (through a directory fd) must be single path
components, and absolute opens must stay inside the bundle root.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.verify import verify_bundle

_opens: list[tuple[str, bool]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opens is not None and event == "open" and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        _opens.append((path, os.path.isabs(path)))


sys.addaudithook(_audit)


def verify_recording_opens(root: Path) -> tuple[list[Any], list[tuple[str, bool]]]:
    global _opens
    _opens = []
    try:
        results = verify_bundle(root)
        return results, _opens
    finally:
        _opens = None


#: Code and contract data the verifier may load lazily (modules, schemas), never lane data.
_CODE_DIRS = tuple(
    os.path.realpath(p) + os.sep
    for p in {sys.prefix, sys.base_prefix, *sys.path[1:], str(Path(__file__).resolve().parents[1] / "contracts")}
    if p and os.path.isdir(p) and os.path.realpath(p) != os.path.realpath(Path(__file__).resolve().parents[1])
)


def assert_stayed_inside(root: Path, opens: list[tuple[str, bool]]) -> None:
    real_root = os.path.realpath(root)
    for path, absolute in opens:
        if absolute and os.path.realpath(path).startswith(_CODE_DIRS):
            continue
        if absolute:
            assert os.path.realpath(path) == real_root or os.path.realpath(path).startswith(real_root + os.sep), path
        else:
            assert "/" not in path and path not in ("..", ""), f"relative open of {path!r}"


names = st.sampled_from(["a", "b", "sample.wav", "model.bin", "manifest.json", "..", ".", "", "x.safetensors"])
rel_paths = st.lists(names, min_size=1, max_size=4).map("/".join) | st.sampled_from(
    ["/etc/passwd", "a\\..\\b", "a\x00b"]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    listed=st.lists(st.tuples(rel_paths, st.integers(-1, 50)), max_size=6),
    present=st.lists(
        st.tuples(st.sampled_from(["a", "b", "sample.wav", "model.bin", "sub/c"]), st.binary(max_size=30)), max_size=4
    ),
    links=st.lists(
        st.tuples(st.sampled_from(["l1", "sample.wav", "sub"]), st.sampled_from(["../outside", "/etc", "a", "../../"])),
        max_size=2,
    ),
    extra=st.dictionaries(
        st.sampled_from(["licenses", "model", "created_at"]),
        st.none()
        | st.text(max_size=5)
        | st.dictionaries(st.sampled_from(["path", "commercial_use_allowed"]), st.booleans() | st.text(max_size=8)),
        max_size=2,
    ),
)
def test_generated_bundles(
    tmp_path_factory: pytest.TempPathFactory, listed: list, present: list, links: list, extra: dict
) -> None:
    base = tmp_path_factory.mktemp("hostile")
    (base / "outside").write_bytes(b"secret")
    root = base / "bundle"
    root.mkdir()
    for rel, data in present:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    for name, target in links:
        if not os.path.lexists(root / name):
            os.symlink(target, root / name)
    files = [{"path": p, "sha256": hashlib.sha256(str(n).encode()).hexdigest(), "bytes": n} for p, n in listed]
    manifest = {
        "bundle_version": "voice_bundle/1",
        "voice_profile_id": "v",
        "display_name": "V",
        "created_at": "2026-01-01T00:00:00Z",
        "files": files,
        **extra,
    }
    if not os.path.lexists(root / "manifest.json"):
        (root / "manifest.json").write_text(json.dumps(manifest))
    results, opens = verify_recording_opens(root)
    assert results and all(r.status in ("pass", "fail", "skip") for r in results)
    assert_stayed_inside(root, opens)


def test_fifo_in_bundle_does_not_hang(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    os.mkfifo(root / "sample.wav")
    os.mkfifo(root / "model.bin")
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "bundle_version": "voice_bundle/1",
                "voice_profile_id": "v",
                "display_name": "V",
                "created_at": "2026-01-01T00:00:00Z",
                "files": [
                    {"path": "sample.wav", "sha256": "0" * 64, "bytes": 0},
                    {"path": "model.bin", "sha256": "0" * 64, "bytes": 0},
                ],
            }
        )
    )
    results = verify_bundle(root)
    failed = {r.code for r in results if r.status == "fail"}
    assert "required_file_missing" in failed


def test_manifest_that_is_a_fifo_or_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text("{}")
    a = tmp_path / "a"
    a.mkdir()
    os.mkfifo(a / "manifest.json")
    b = tmp_path / "b"
    b.mkdir()
    (b / "manifest.json").symlink_to(tmp_path / "secret.json")
    for root in (a, b):
        results, opens = verify_recording_opens(root)
        assert "manifest_missing" in {r.code for r in results if r.status == "fail"}
        assert_stayed_inside(root, opens)


def test_listing_through_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "model.bin").write_bytes(b"w")
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "sub").symlink_to(tmp_path / "elsewhere")
    digest = hashlib.sha256(b"w").hexdigest()
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "bundle_version": "voice_bundle/1",
                "voice_profile_id": "v",
                "display_name": "V",
                "created_at": "2026-01-01T00:00:00Z",
                "files": [{"path": "sub/model.bin", "sha256": digest, "bytes": 1}],
            }
        )
    )
    results, opens = verify_recording_opens(root)
    assert "symlink_not_allowed" in {r.code for r in results if r.status == "fail"}
    assert_stayed_inside(root, opens)
