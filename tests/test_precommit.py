"""The pre-commit hook's entry: verify the bundle folder of each staged manifest.json."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.precommit import main

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "fixtures" / "good" / "bundle"


def test_good_bundle_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(GOOD / "manifest.json"), str(GOOD / "manifest.json")]) == 0
    assert capsys.readouterr().out.count("PASS") == 1  # each folder once


def test_tampered_bundle_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = shutil.copytree(GOOD, tmp_path / "bundle")
    (bundle / "sample.wav").write_bytes((bundle / "sample.wav").read_bytes() + b"x")
    assert main([str(bundle / "manifest.json")]) == 1
    assert "BUNDLE-bytes [bytes_mismatch]" in capsys.readouterr().out


def test_other_manifests_are_left_alone_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    other = tmp_path / "web" / "manifest.json"
    other.parent.mkdir()
    other.write_text('{"name": "a web app", "icons": []}')
    assert main([str(other)]) == 0
    broken = tmp_path / "b" / "manifest.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    assert main([str(broken)]) == 1
    assert main([str(tmp_path / "nope" / "manifest.json")]) == 2


def test_hook_definition_matches_the_entry() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: voicelane-verify-bundle" in text
    assert "entry: voicelane-verify-manifests" in text
    files = re.search(r"^  files: (.+)$", text, re.M)
    assert files is not None
    pattern = re.compile(files.group(1))
    assert pattern.search("manifest.json")
    assert pattern.search("bundles/x/manifest.json")
    assert not pattern.search("bundles/x/my_manifest.json")
    assert 'voicelane-verify-manifests = "harness.precommit:main"' in (ROOT / "pyproject.toml").read_text()
