"""The pytest plugin, tested with pytest's own pytester on tiny lanes (fixtures/lanes/ci-*, LANE-exit).

Each test starts an inner pytest session; the lanes take well under a
second, and only the xdist and start-up tests need a subprocess.

In-process inner sessions drop the modules they imported when they end, and
numpy cannot be imported twice in one process: so everything a lane run
imports is imported here first, and stays.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy  # noqa: F401
import pytest
import soundfile  # noqa: F401

import harness.run.lane
import harness.run.snapshots
import harness.verify  # noqa: F401
from harness.catalogue import rules

pytest_plugins = ["pytester"]

LANES = Path(__file__).resolve().parents[1] / "fixtures" / "lanes"
PASS = LANES / "ci-pass" / "lane.toml"
SOFT = LANES / "ci-soft" / "lane.toml"
FAIL = LANES / "LANE-exit" / "lane.toml"  # lane name fixture-exit: fails LANE-exit, skips DATASET-* and BUNDLE-*
N_RULES = len(rules())


@pytest.fixture
def counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ci-pass appends a line to this file every time it starts."""
    path = tmp_path / "lane-starts.txt"
    monkeypatch.setenv("VOICELANE_CI_COUNTER", str(path))
    return path


def starts(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_inert_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy_was_imported():
            assert "harness.pytest_plugin" in sys.modules  # loaded through the pytest11 entry point
            assert not any(m == "torch" or m.startswith("harness.run") for m in sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*voicelane lanes:*")


def test_items_are_named_lane_and_rule_and_collection_does_not_run_the_lane(
    pytester: pytest.Pytester, counter: Path
) -> None:
    result = pytester.runpytest(f"--voicelane={PASS}", "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["ci-pass::PROTO-utf8", "ci-pass::BUNDLE-checksum", f"{N_RULES} tests collected*"])
    assert starts(counter) == 0


def test_passing_lane(pytester: pytest.Pytester, counter: Path) -> None:
    result = pytester.runpytest(f"--voicelane={PASS}", "-v", "-rs")
    result.assert_outcomes(passed=N_RULES - 2, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*ci-pass::BUNDLE-checksum PASSED*",
            "*ci-pass::LANE-determinism SKIPPED*",
            "ci-pass: run folder *",
            "SKIPPED * LANE-determinism [[]nondeterministic_output[]] skipped: run with --repeat N*",
        ]
    )
    assert starts(counter) == 1


def test_failing_lane_fails_hard_rules_with_remediation_and_skips_with_reasons(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--voicelane={FAIL}", "-rfs")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes["failed"] + outcomes["passed"] + outcomes["skipped"] == N_RULES
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED fixture-exit::LANE-exit - *"])
    result.stdout.fnmatch_lines(
        [
            "*fixture-exit::LANE-exit*",
            "LANE-exit [[]lane_exit_nonzero[]] failed (hard rule): the lane failed: exit status 3*",
            "fix: Read the lane's stderr.log*",
            "SKIPPED * DATASET-present [[]dataset_missing[]] skipped: the lane spec declares no dataset_manifest*",
        ]
    )


def test_soft_failure_passes_with_a_warning(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--voicelane={SOFT}", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*ci-soft::PROTO-phase-complete PASSED*",
            "*VoicelaneWarning: PROTO-phase-complete [[]phase_incomplete[]] failed (soft rule)*",
        ]
    )


def test_junit_has_one_testcase_per_rule_and_failures_carry_the_code(pytester: pytest.Pytester) -> None:
    xml = pytester.path / "junit.xml"
    pytester.runpytest(f"--voicelane={FAIL}", f"--voicelane={SOFT}", f"--junitxml={xml}")
    cases = list(ET.parse(xml).getroot().iter("testcase"))
    assert len(cases) == 2 * N_RULES
    by_name = {(c.get("classname"), c.get("name")): c for c in cases}
    assert len(by_name) == len(cases)  # one testcase per rule and lane, no duplicates
    failure = by_name[("fixture-exit", "LANE-exit")].find("failure")
    assert failure is not None
    assert "lane_exit_nonzero" in failure.get("message", "")
    props = {p.get("name"): p.get("value") for p in by_name[("fixture-exit", "LANE-exit")].iter("property")}
    assert props["code"] == "lane_exit_nonzero"
    assert props["severity"] == "hard"
    skipped = by_name[("fixture-exit", "DATASET-present")].find("skipped")
    assert skipped is not None
    assert "dataset_manifest" in skipped.get("message", "")
    soft = by_name[("ci-soft", "PROTO-phase-complete")]
    assert soft.find("failure") is None
    assert soft.find("skipped") is None
    assert [f for c in cases if (f := c.find("failure")) is not None] == [failure]


def test_the_lane_runs_once_per_session_for_items_and_fixture(pytester: pytest.Pytester, counter: Path) -> None:
    pytester.makepyfile(
        f"""
        def test_author_check(voicelane_run, voicelane_lanes):
            run = voicelane_run({str(PASS)!r})
            assert run.verdict == "PASS"
            assert run.outcomes()["LANE-exit"] == "pass"
            assert voicelane_lanes == [run.spec.path]
            assert voicelane_run({str(PASS)!r}) is run
        """
    )
    result = pytester.runpytest(f"--voicelane={PASS}")
    result.assert_outcomes(passed=N_RULES - 2 + 1, skipped=2)
    assert starts(counter) == 1


def test_under_xdist_the_lane_runs_at_most_once_per_worker(pytester: pytest.Pytester, counter: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", f"--voicelane={PASS}")
    result.assert_outcomes(passed=N_RULES - 2, skipped=2)
    assert 1 <= starts(counter) <= 2


def test_snapshot_of_the_normalized_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_lane_snapshot=f"""
        def test_normalized(voicelane_run, voicelane_snapshot):
            assert voicelane_run({str(PASS)!r}).normalized() == voicelane_snapshot
        """
    )
    result = pytester.runpytest("--snapshot-update")
    result.assert_outcomes(passed=1)
    stored = pytester.path / "__snapshots__" / "test_lane_snapshot" / "test_normalized.json"
    text = stored.read_text()
    assert '"lane": "ci-pass"' in text
    assert "<volatile>" in text
    assert pytester.runpytest().ret == 0  # a fresh run matches the stored snapshot
    stored.write_text(text.replace('"lane": "ci-pass"', '"lane": "other"'))
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_bad_spec_is_a_usage_error(pytester: pytest.Pytester) -> None:
    spec = pytester.makefile(".toml", bad='name = "x"\n')
    result = pytester.runpytest(f"--voicelane={spec}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--voicelane: *bad.toml*"])
