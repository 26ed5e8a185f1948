"""Shared paths and helpers for the voicelane test suite."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"


def voicelane(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd or ROOT,
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bad_cases() -> list[tuple[str, Path, dict[str, Any]]]:
    """(rule id, case folder, case.toml) for every fixture under fixtures/bad."""
    out = []
    for case_dir in sorted(p for p in BAD.iterdir() if p.is_dir()):
        spec = tomllib.loads((case_dir / "case.toml").read_text())
        out.append((case_dir.name.split("--")[0], case_dir, spec))
    return out


def pytest_configure(config: pytest.Config) -> None:
    """Keep every ledger a test run writes out of the developer's reports/ledger.jsonl."""
    if "VOICELANE_LEDGER" not in os.environ:
        scratch = Path(tempfile.mkdtemp(prefix="voicelane-test-ledger-"))
        os.environ["VOICELANE_LEDGER"] = str(scratch / "ledger.jsonl")


@pytest.fixture
def root() -> Path:
    return ROOT
