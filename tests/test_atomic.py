"""The one atomic writer: whole files only, no temp files left behind, ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness import atomic
from harness.atomic import write_atomic


def test_replaces_whole_file_with_ordinary_mode(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(target.stat().st_mode) == atomic._FILE_MODE
    assert atomic._FILE_MODE & 0o044, "readable by others under the usual umask, unlike mkstemp's 0600"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")

    def boom(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
