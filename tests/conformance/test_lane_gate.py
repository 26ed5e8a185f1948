"""Conformance checks beyond one item per rule, for the lanes given with ``--voicelane`` (``nox -s conformance``).

The per-rule items report a skip as a skip; the readiness gate is stricter:
a mandatory rule must pass. These tests hold each lane to the gate, and
show lane authors how to use the ``voicelane_run`` fixture in their own
suites. Without ``--voicelane`` they skip (the unit-test run collects them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.catalogue import rules
from harness.pytest_plugin import LaneRun


@pytest.fixture
def lanes(voicelane_lanes: list[Path]) -> list[Path]:
    if not voicelane_lanes:
        pytest.skip("no lanes given (run with --voicelane lanes/NAME.toml)")
    return voicelane_lanes


def test_every_mandatory_rule_passes(lanes: list[Path], voicelane_run: Callable[[Path], LaneRun]) -> None:
    for spec in lanes:
        run = voicelane_run(spec)
        outcomes = run.outcomes()
        not_passed = {r.id: outcomes.get(r.id, "missing") for r in rules() if r.mandatory}
        not_passed = {rid: o for rid, o in not_passed.items() if o != "pass"}
        assert not not_passed, f"lane {run.spec.name}: mandatory rules that did not pass: {not_passed}"


def test_run_folder_is_complete(lanes: list[Path], voicelane_run: Callable[[Path], LaneRun]) -> None:
    for spec in lanes:
        run = voicelane_run(spec)
        assert run.error is None, run.error
        assert run.run_dir is not None
        for name in ("result.json", "stdout.log", "stderr.log", "events.jsonl", "out"):
            assert (run.run_dir / name).exists(), f"{run.run_dir / name} is missing"
