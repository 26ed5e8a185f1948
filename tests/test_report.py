"""The readiness report: what blocks GO, how waivers count, escaping, snapshots, and the page in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from test_certificate_support import BUNDLE_REL, make_run

from harness.certify import certify_run
from harness.report.build import make_report
from harness.schemas import schema_errors
from harness.waivers import load_waivers

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "fixtures" / "waivers" / "valid.toml"
EXPIRED = ROOT / "fixtures" / "waivers" / "expired.toml"
HOSTILE = "<script>alert(1)</script> | # [x](javascript:alert(1)) **bold**"


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICELANE_TODAY", "2026-06-01")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.delenv("VOICELANE_WAIVERS", raising=False)


def _ledger(tmp_path: Path, *runs: dict) -> Path:
    ledger = tmp_path / "ledger.jsonl"
    for i, kwargs in enumerate(runs):
        waivers = kwargs.pop("waivers", None)
        run_dir = make_run(tmp_path / "runs", f"r{i}", **kwargs)
        assert certify_run(run_dir, ledger, f"run {i}", waivers=waivers) is None
    return ledger


def _blockers(doc: dict) -> list[tuple[str, str]]:
    return [(b["kind"], b["id"]) for b in doc["decision"]["blockers"]]


def test_all_pass_is_go(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {})
    report = make_report(ledger, tmp_path / "rep", html=False)
    assert report.go, report.doc["decision"]
    assert schema_errors("readiness/1", report.doc) == []
    assert report.doc["certificate"]["integrityOk"] is True
    assert report.doc["certificate"]["runId"] == 1
    assert all(a["exists"] for a in report.doc["artifacts"])


def test_soft_failures_do_not_block(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"DATASET-pinned": "fail", "BUNDLE-unlisted": "fail"}})
    assert make_report(ledger, tmp_path / "rep", html=False).go


def test_failed_hard_rule_blocks_with_remediation(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-checksum": "fail"}})
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert doc["decision"]["verdict"] == "NO-GO"
    (b,) = doc["decision"]["blockers"]
    assert (b["kind"], b["id"], b["code"]) == ("rule_failed", "BUNDLE-checksum", "checksum_mismatch")
    assert b["remediation"].startswith("Regenerate the manifest")


@pytest.mark.parametrize("status", ["skip", "error"])
def test_mandatory_skip_or_error_blocks(tmp_path: Path, status: str) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"STATUS-schema": status}})
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert _blockers(doc) == [("rule_not_evaluated", "STATUS-schema")]


def test_non_mandatory_skip_does_not_block(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"LANE-determinism": "skip"}})
    assert make_report(ledger, tmp_path / "rep", html=False).go


def test_missing_mandatory_result_blocks(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {})
    run_dir = tmp_path / "runs" / "r0"
    result = json.loads((run_dir / "result.json").read_text())
    result["results"] = [r for r in result["results"] if r["id"] != "PROTO-utf8"]
    (run_dir / "result.json").write_text(json.dumps(result))
    certify_run(run_dir, ledger, None)  # a fresh certificate for the edited result
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert ("rule_not_evaluated", "PROTO-utf8") in _blockers(doc)


def test_license_without_commercial_use_blocks(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-license-commercial": "fail"}, "commercial": False})
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert _blockers(doc) == [("license", "BUNDLE-license-commercial")]


def test_tampering_after_certification_blocks(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {})
    (tmp_path / "runs" / "r0" / "out" / BUNDLE_REL / "model.bin").write_bytes(b"evil")
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert _blockers(doc) == [("integrity", "INTEGRITY")]
    assert f"{BUNDLE_REL}/model.bin" in doc["decision"]["blockers"][0]["message"]
    assert doc["certificate"]["integrityOk"] is False
    assert doc["runs"][0]["integrityOk"] is False


def test_valid_waiver_turns_the_blocker_into_a_waived_finding(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-license-commercial": "fail"}, "waivers": VALID})
    report = make_report(ledger, tmp_path / "rep", html=False)  # the waivers the run was certified with
    assert report.go
    (w,) = report.doc["decision"]["waived"]
    assert (w["id"], w["owner"], w["expires"]) == (
        "BUNDLE-license-commercial",
        "release-manager@example.com",
        "2099-12-31",
    )
    assert make_report(ledger, tmp_path / "rep", waivers=load_waivers(VALID), html=False).go


def test_expired_waiver_does_not_apply_and_blocks(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-license-commercial": "fail"}})
    doc = make_report(ledger, tmp_path / "rep", waivers=load_waivers(EXPIRED), html=False).doc
    assert _blockers(doc) == [("license", "BUNDLE-license-commercial"), ("waiver_expired", "BUNDLE-license-commercial")]
    assert doc["decision"]["waived"] == []


def test_waiver_for_another_lane_does_not_apply(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-license-commercial": "fail"}, "lane": "other"})
    assert not make_report(ledger, tmp_path / "rep", waivers=load_waivers(VALID), html=False).go


def test_gated_runs_default_to_latest_per_lane(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-checksum": "fail"}}, {}, {"lane": "second"})
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert [r["gated"] for r in doc["runs"]] == [False, True, True]
    assert doc["decision"]["verdict"] == "GO"
    doc = make_report(ledger, tmp_path / "rep", run_ids=[1, 3], html=False).doc
    assert doc["decision"]["verdict"] == "NO-GO"
    assert doc["certificate"]["runId"] == 3


def test_empty_ledger_is_no_go(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("")
    doc = make_report(ledger, tmp_path / "rep", html=False).doc
    assert _blockers(doc) == [("no_runs", "LEDGER")] and doc["certificate"] is None


def test_lane_text_is_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-checksum": "fail"}, "messages": {"BUNDLE-checksum": HOSTILE}})
    report = make_report(ledger, tmp_path / "rep")
    md = report.paths["md"].read_text()
    page = report.paths["html"].read_text()
    assert "<script>" not in md and "<script" not in page
    assert "\\<script\\>" in md and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in md and "\\*\\*bold\\*\\*" in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_cli_report_exit_codes_and_blocks(tmp_path: Path) -> None:
    from conftest import voicelane

    ledger = _ledger(tmp_path, {})
    out = tmp_path / "rep"
    go = voicelane("report", "--ledger", str(ledger), "--out", str(out))
    assert go.returncode == 0, go.stderr
    assert go.stdout.startswith("══ GO ══") and "certificateHash:" in go.stdout
    assert {p.name for p in out.iterdir()} == {"readiness.md", "readiness.json", "readiness.html"}
    bad = _ledger(tmp_path / "b", {"overrides": {"BUNDLE-license-commercial": "fail"}})
    nogo = voicelane("report", "--ledger", str(bad), "--out", str(out), "--waivers", str(EXPIRED))
    assert nogo.returncode == 1 and "NO-GO" in nogo.stdout
    assert voicelane("report", "--ledger", str(ledger), "--runs", "99").returncode == 2
    broken = tmp_path / "broken.toml"
    broken.write_text('[[waiver]]\nrule = "NOPE"\n')
    assert voicelane("report", "--ledger", str(ledger), "--waivers", str(broken)).returncode == 2


# ─── snapshots ───────────────────────────────────────────────────────────────


def _snapshot_ledger(tmp_path: Path) -> Path:
    return _ledger(
        tmp_path,
        {},
        {
            "lane": "other",
            "overrides": {"BUNDLE-license-commercial": "fail", "DATASET-pinned": "fail", "LANE-exit": "skip"},
            "messages": {"BUNDLE-license-commercial": "weights CC-BY-NC-4.0 | not for <b>commercial</b> use"},
        },
        {"lane": "waived", "overrides": {"STATUS-artifacts-exist": "fail"}},
    )


def _mask(text: str, tmp_path: Path, ledger: Path) -> str:
    from harness.report.escape import md

    text = text.replace(str(tmp_path), "<TMP>").replace(md(str(tmp_path)), "<TMP>")
    for line in ledger.read_text().splitlines():
        text = text.replace(json.loads(line)["certificateHash"], "<CERTIFICATE-HASH>")
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<TRACE-ID>", text)


def test_snapshot_readiness_md_and_json(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    ledger = _snapshot_ledger(tmp_path)
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\nrule = "STATUS-artifacts-exist"\nlane = "waived"\nreason = "artifact moved"\n'
        'owner = "qa@example.com"\nexpires = 2026-12-31\n'
    )
    report = make_report(ledger, tmp_path / "rep", waivers=load_waivers(waivers), html=False)
    assert report.doc["decision"]["verdict"] == "NO-GO"
    assert _mask(report.paths["md"].read_text(), tmp_path, ledger) == snapshot(name="readiness.md")
    assert _mask(report.paths["json"].read_text(), tmp_path, ledger) == snapshot(name="readiness.json")


# ─── the page in a browser ───────────────────────────────────────────────────

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, {"overrides": {"BUNDLE-license-commercial": "fail"}})
    report = make_report(ledger, tmp_path / "rep")
    url = report.paths["html"].resolve().as_uri()
    png = tmp_path / "shot.png"
    assert CHROMIUM is not None
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run(
        [*common, f"--screenshot={png}", "--window-size=1200,2000", url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert png.is_file() and png.stat().st_size > 20_000
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] >= 1000 and pixels.std() > 0.05  # not a blank page
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False).stdout
    assert 'id="verdict" class="verdict NO-GO">NO-GO<' in dom
    for plot in ("loss", "waveform", "spectrogram"):
        assert re.search(rf'<img class="plot {plot}"[^>]*src="data:image/png;base64,', dom), plot
    assert "<audio controls" in dom
