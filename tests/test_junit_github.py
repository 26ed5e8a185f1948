"""``--junit FILE`` from ``voicelane run`` / ``report``, and the GitHub Actions summary and annotations.

The commands run in a subprocess with the environment the test sets
(``GITHUB_ACTIONS``, ``GITHUB_STEP_SUMMARY``, a private ledger), as a CI
job would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import github, junit
from harness.catalogue import rules

ROOT = Path(__file__).resolve().parents[1]
LANES = ROOT / "fixtures" / "lanes"
N_RULES = len(rules())


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "VOICELANE_"))}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """LANE-exit run and reported on "GitHub Actions": the files and outputs both commands left."""
    tmp = tmp_path_factory.mktemp("gha")
    summary = tmp / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "VOICELANE_LEDGER": str(tmp / "ledger.jsonl")}
    run = cli("run", str(LANES / "LANE-exit" / "lane.toml"), "--out", "r", "--junit", "run.xml", env=env, cwd=tmp)
    after_run = summary.read_text()
    report = cli("report", "--out", "rep", "--junit", "report.xml", env=env, cwd=tmp)
    return {"tmp": tmp, "run": run, "report": report, "after_run": after_run, "summary": summary.read_text()}


def test_run_junit_one_testcase_per_rule(failing: dict[str, Any]) -> None:
    assert failing["run"].returncode == 1
    root = ET.parse(failing["tmp"] / "run.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["fixture-exit"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [r.id for r in rules()]
    failures = [(c.get("name"), f) for c in cases if (f := c.find("failure")) is not None]
    assert [(name, f.get("type")) for name, f in failures] == [("LANE-exit", "lane_exit_nonzero")]
    assert "fix:" in (failures[0][1].text or "")
    skipped = {c.get("name"): s.get("message") for c in cases if (s := c.find("skipped")) is not None}
    assert skipped["DATASET-present"] == "the lane spec declares no dataset_manifest output"
    assert suites[0].get("failures") == "1"
    assert suites[0].get("skipped") == str(len(skipped))
    assert root.get("tests") == str(N_RULES)


def test_run_on_github_actions_annotates_and_summarises(failing: dict[str, Any]) -> None:
    out = failing["run"].stdout
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error title=LANE-exit::[lane_exit_nonzero] FAIL run: the lane failed: exit status 3")
    assert "%0Afix: " in errors[0]
    summary = failing["after_run"]
    assert summary.startswith("### voicelane run: fixture-exit — FAIL\n")
    assert "| LANE-exit | `lane_exit_nonzero` | **FAIL** |" in summary
    assert "Skipped: " in summary


def test_report_junit_and_github(failing: dict[str, Any]) -> None:
    assert failing["report"].returncode == 1
    root = ET.parse(failing["tmp"] / "report.xml").getroot()
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == ["readiness", "fixture-exit (run 1)"]
    decision = root.find("testsuite/testcase[@name='decision']/failure")
    assert decision is not None
    assert decision.get("type") == "NO-GO"
    assert "LANE-exit [lane_exit_nonzero] (rule_failed, run 1)" in (decision.text or "")
    run_suite = root.findall("testsuite")[1]
    assert len(run_suite.findall("testcase")) == N_RULES
    added = failing["summary"][len(failing["after_run"]) :]
    assert added.startswith("### voicelane report: NO-GO\n")
    assert "── certificate ──" in added
    out = failing["report"].stdout
    assert "::error title=LANE-exit::[lane_exit_nonzero] rule_failed (run 1, fixture-exit): the lane failed" in out


def test_nothing_for_github_outside_actions(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "VOICELANE_LEDGER": str(tmp_path / "ledger.jsonl")}
    spec = LANES / "ci-pass" / "lane.toml"
    done = cli("run", str(spec), "--out", "r", "--junit", "j.xml", "--format", "json", env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)["verdict"] == "PASS"  # stdout stays one JSON document
    assert "::error" not in done.stdout + done.stderr
    assert not summary.exists()
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.get("failures") == "0"
    assert root.get("errors") == "0"


# ─── escaping ─────────────────────────────────────────────────────────────────


def test_workflow_command_escaping() -> None:
    assert github.escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert github.escape_property("A:B,C%\n") == "A%3AB%2CC%25%0A"
    line = github.command("error", "x\n::error::injected", title="T:1,2")
    assert line == "::error title=T%3A1%2C2::x%0A::error::injected"
    assert "\n" not in line


HOSTILE = "bad %0A value\n::error title=X::forged\r| <b>*md*</b> `tick` \x00\x1b"


def hostile_doc(status: str = "fail") -> dict[str, Any]:
    def r(rid: str, code: str, sev: str, status: str, msg: str, where: str | None = None) -> dict[str, Any]:
        return {"id": rid, "code": code, "severity": sev, "status": status, "message": msg, "location": where}

    results = [
        r("BUNDLE-checksum", "checksum_mismatch", "hard", status, HOSTILE, "a.bin"),
        r("BUNDLE-checksum", "checksum_mismatch", "hard", status, "second", "b.bin"),
        r("PROTO-phase-complete", "phase_incomplete", "soft", "fail", "soft"),
        r("LANE-snapshot", "snapshot_drift", "soft", "skip", "no dir"),
    ]
    return {"verdict": "FAIL", "first_fail": results[0], "results": results, "run": {"lane": "evil|lane\n# h"}}


def test_annotations_escape_lane_text_and_merge_findings_of_a_rule() -> None:
    lines = github.run_annotations(hostile_doc())
    assert len(lines) == 1  # two findings of one hard rule, one soft failure (not annotated)
    line = lines[0]
    assert "\n" not in line
    assert "\r" not in line
    assert line.startswith("::error title=BUNDLE-checksum::[checksum_mismatch] FAIL a.bin: bad %250A value%0A::error")
    assert "%0D" in line
    assert "FAIL b.bin: second" in line


def test_summary_escapes_markdown(tmp_path: Path) -> None:
    summary = tmp_path / "s.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    lines: list[str] = []

    class Out:
        def write(self, s: str) -> None:
            lines.append(s)

    github.publish_run(hostile_doc(), Out(), env)  # type: ignore[arg-type]
    text = summary.read_text()
    assert text.startswith("### voicelane run: evil\\|lane \\# h — FAIL\n")
    assert "<b>" not in text
    assert "\\<b\\>" in text
    assert "| PROTO-phase-complete | `phase_incomplete` | warn (soft) |" in text
    assert "Skipped: LANE-snapshot" in text
    assert len("".join(lines).splitlines()) == 1


def test_junit_escapes_and_groups(tmp_path: Path) -> None:
    path = junit.write_run(tmp_path / "j.xml", hostile_doc())
    root = ET.parse(path).getroot()  # parses: the control characters were escaped
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert len(cases) == 3
    failure = cases["BUNDLE-checksum"].find("failure")
    assert failure is not None
    assert failure.get("type") == "checksum_mismatch"
    assert "\\x00\\x1b" in (failure.text or "")
    assert "FAIL b.bin: second" in (failure.text or "")
    assert "(and 1 more findings)" in failure.get("message", "")
    assert cases["PROTO-phase-complete"].find("failure") is None
    assert "WARNING (soft rule" in (cases["PROTO-phase-complete"].findtext("system-out") or "")
    assert cases["LANE-snapshot"].find("skipped") is not None
    errors = junit.write_run(tmp_path / "e.xml", hostile_doc("error"))
    assert ET.parse(errors).getroot().find(".//error[@type='checksum_mismatch']") is not None


def test_report_junit_applies_waivers(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text(json.dumps(hostile_doc()))
    report: dict[str, Any] = {
        "generated_at": "2026-01-01T00:00:00Z",
        "runs": [{"runId": 7, "lane": "evil", "verdict": "FAIL", "certificateHash": "00", "gated": True}],
        "decision": {
            "verdict": "GO",
            "blockers": [],
            "waived": [{"runId": 7, "id": "BUNDLE-checksum", "code": "checksum_mismatch", "owner": "ops",
                        "expires": "2099-01-01", "reason": "known"}],
        },
    }  # fmt: skip
    report["runs"][0]["run_dir"] = str(run_dir)
    root = ET.parse(junit.write_report(tmp_path / "r.xml", report)).getroot()
    assert root.get("failures") == "0"
    case = root.find("testsuite[@name='evil (run 7)']/testcase[@name='BUNDLE-checksum']")
    assert case is not None
    assert (case.findtext("system-out") or "").startswith("WAIVED: by ops until 2099-01-01: known")
