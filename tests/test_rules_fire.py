"""Every rule fires on its own bad fixture and on no good fixture.

The test walks the catalogue, so a new rule without a failing fixture, or a
check that cannot fail, turns this suite red.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.catalogue import rules
from harness.results import Result
from harness.verify import verify_bundle, verify_dataset, verify_log, verify_status
from tests.conftest import GOOD, bad_cases

FILE_SCOPES = ("protocol", "status", "dataset", "bundle")


def run_case(case_dir: Path, spec: dict[str, Any]) -> list[Result]:
    path = case_dir / spec["path"]
    kind = spec["verify"]
    if kind == "bundle":
        return verify_bundle(path)
    if kind == "status":
        return verify_status(path, case_dir / spec["root"] if "root" in spec else None)
    if kind == "dataset":
        return verify_dataset(path, case_dir / spec["root"] if "root" in spec else None)
    return verify_log(path, allow_incomplete=spec.get("allow_incomplete", False))


def good_results() -> list[Result]:
    return [
        *verify_bundle(GOOD / "bundle"),
        *verify_status(GOOD / "train_status.json"),
        *verify_dataset(GOOD / "dataset" / "dataset_manifest.json"),
        *verify_dataset(GOOD / "dataset" / "dataset.jsonl"),
        *verify_log(GOOD / "stdout.log"),
    ]


@pytest.mark.parametrize("rule_id", [r.id for r in rules() if r.scope in FILE_SCOPES])
def test_every_rule_has_a_bad_fixture(rule_id: str) -> None:
    assert any(rid == rule_id for rid, _, _ in bad_cases()), f"add fixtures/bad/{rule_id}/ (fixtures/make_fixtures.py)"


@pytest.mark.parametrize(("rule_id", "case_dir", "spec"), bad_cases(), ids=[c[1].name for c in bad_cases()])
def test_bad_fixture_fires_its_rule_and_only_its_rule(rule_id: str, case_dir: Path, spec: dict[str, Any]) -> None:
    results = run_case(case_dir, spec)
    fired = {r.id for r in results if r.status == "fail"}
    assert fired == {rule_id}, f"{case_dir.name}: expected only {rule_id} to fail, got {sorted(fired)}"
    assert not [r for r in results if r.status == "error"]


def test_good_fixtures_pass_every_rule() -> None:
    results = good_results()
    assert [r for r in results if r.status != "pass"] == []
    covered = {r.id for r in results}
    assert covered == {r.id for r in rules() if r.scope in FILE_SCOPES}


def test_verifiers_report_one_outcome_per_rule_in_catalogue_order() -> None:
    order = [r.id for r in rules()]
    for results in (verify_bundle(GOOD / "bundle"), verify_log(GOOD / "stdout.log")):
        ids = [r.id for r in results]
        assert ids == sorted(ids, key=order.index)
        assert len(ids) == len(set(ids))
