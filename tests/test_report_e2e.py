"""End to end through ``voicelane run``: a tiny lane is run, certified, ledgered, re-checked and reported."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import voicelane

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "fixtures" / "good"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("harness.run") is None, reason="voicelane run is not built")

LANE = """
import json, os, shutil, sys
out = os.environ["VOICELANE_OUT"]
good = sys.argv[1]
shutil.copytree(os.path.join(good, "bundle"), os.path.join(out, "bundles/tiny/voice_bundle"))
os.makedirs(os.path.join(out, "artifacts"), exist_ok=True)
src = os.path.join(good, "dataset", "dataset_manifest.json")
shutil.copyfile(src, os.path.join(out, "artifacts/dataset_manifest.json"))
for step, loss in ((1, 1.5), (2, 0.7)):
    print(f"PROGRESS {step - 1} 2")
    print(json.dumps({"step": step, "loss": loss}).join(["STATS ", ""]))
print("PROGRESS 2 2")
print("ARTIFACT bundles/tiny/voice_bundle/manifest.json")
status = {"job_type": "tts_train", "state": "completed", "progress": {"current": 2, "total": 2},
          "artifacts": ["bundles/tiny/voice_bundle/manifest.json"],
          "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z"}
with open(os.path.join(out, "artifacts/train_status.json"), "w") as f:
    json.dump(status, f)
"""


def _lane(tmp_path: Path) -> Path:
    (tmp_path / "lane.py").write_text(textwrap.dedent(LANE))
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        textwrap.dedent(
            f"""
            name = "tiny"
            kind = "command"
            command = [{json.dumps(sys.executable)}, "lane.py", {json.dumps(str(GOOD))}]
            workdir = "."
            timeout_s = 60
            stall_timeout_s = 30

            [outputs]
            train_status = "artifacts/train_status.json"
            dataset_manifest = "artifacts/dataset_manifest.json"
            bundle = "bundles/tiny/voice_bundle"
            dataset_root = {json.dumps(str(GOOD / "dataset"))}
            """
        )
    )
    return spec


def test_run_certify_ledger_verify_report(tmp_path: Path) -> None:
    spec = _lane(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    for name in ("r1", "r2"):
        done = voicelane("run", str(spec), "--out", str(tmp_path / name), "--ledger", str(ledger), "--note", name)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "certificateHash:" in done.stderr
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [e["runId"] for e in entries] == [1, 2]
    assert entries[0]["certificateHash"] == entries[1]["certificateHash"]  # same evidence, same hash
    assert all(e["integrityOk"] for e in entries)
    check = voicelane("verify-certificate", str(tmp_path / "r1"))
    assert check.returncode == 0 and check.stdout.startswith("integrityOk: true")
    report = voicelane("report", "--ledger", str(ledger), "--out", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stdout + report.stderr
    assert report.stdout.startswith("══ GO ══")
    (tmp_path / "r2" / "out" / "bundles/tiny/voice_bundle/model.bin").write_bytes(b"tampered")
    assert voicelane("verify-certificate", str(tmp_path / "r2")).returncode == 1
    assert voicelane("report", "--ledger", str(ledger), "--out", str(tmp_path / "rep")).returncode == 1
