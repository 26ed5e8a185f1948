"""Fabricated ``voicelane run`` folders for the certificate, ledger and report tests.

A run folder follows the contract ``voicelane run`` writes (result.json,
out/, events.jsonl); building them here keeps these tests independent of the
runner and of training time. No tests live in this module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness.catalogue import rules

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "fixtures" / "good"
BUNDLE_REL = "bundles/fixture/voice_bundle"
SPEC_TEXT = 'name = "fixture"\nkind = "command"\nargv = ["python", "-m", "fixture_lane"]\n'


def rule_results(overrides: dict[str, str] | None = None, messages: dict[str, str] | None = None) -> list[dict]:
    """One result per catalogue rule: pass, unless ``overrides`` gives another status."""
    overrides = overrides or {}
    messages = messages or {}
    out = []
    for r in rules():
        status = overrides.get(r.id, "pass")
        out.append(
            {
                "id": r.id,
                "code": r.code,
                "severity": r.severity,
                "status": status,
                "message": messages.get(r.id, r.description if status == "pass" else f"{r.id} {status}"),
                "location": None,
            }
        )
    return out


def make_run(
    base: Path,
    name: str = "run",
    *,
    lane: str = "fixture",
    overrides: dict[str, str] | None = None,
    messages: dict[str, str] | None = None,
    spec_text: str = SPEC_TEXT,
    workdir: Path | None = None,
    losses: tuple[float, ...] = (2.0, 1.2, 0.9, 0.75),
    commercial: bool = True,
) -> Path:
    """A run folder under ``base``: the good fixture bundle and status in out/, a result.json, events."""
    run_dir = base / name
    out = run_dir / "out"
    (out / "artifacts").mkdir(parents=True)
    shutil.copytree(GOOD / "bundle", out / BUNDLE_REL)
    if not commercial:
        manifest_path = out / BUNDLE_REL / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["licenses"]["commercial_use_allowed"] = False
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(GOOD / "train_status.json", out / "artifacts" / "train_status.json")
    shutil.copyfile(GOOD / "dataset" / "dataset_manifest.json", out / "artifacts" / "dataset_manifest.json")
    spec = run_dir / "lane.toml"
    spec.write_text(spec_text)
    results = rule_results(overrides, messages)
    hard_fails = [r for r in results if r["status"] == "fail" and r["severity"] == "hard"]
    verdict = "FAIL" if hard_fails else ("ERROR" if any(r["status"] == "error" for r in results) else "PASS")
    import hashlib

    result: dict[str, Any] = {
        "verdict": verdict,
        "first_fail": hard_fails[0] if hard_fails else None,
        "results": results,
        "run": {
            "lane": lane,
            "kind": "command",
            "spec": str(spec),
            "spec_sha256": hashlib.sha256(spec_text.encode()).hexdigest(),
            "argv": ["python", "-m", "fixture_lane", "--out", str(out)],
            "image": None,
            "workdir": str(workdir or base),
            "env": {},
            "outputs": {
                "train_status": "artifacts/train_status.json",
                "dataset_manifest": "artifacts/dataset_manifest.json",
                "bundle": BUNDLE_REL,
                "dataset_root": None,
            },
            "exit_code": 0,
            "signal": None,
            "timed_out": False,
            "stalled": False,
            "duration_s": 1.25,
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:00:01Z",
            "out_dir": str(out),
            "run_dir": str(run_dir),
            "repeat": 0,
        },
    }
    (run_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    events = [{"line": 1, "kind": "progress", "t": 0.0, "current": 0, "total": len(losses)}]
    for i, loss in enumerate(losses, 1):
        events.append({"line": 2 * i, "kind": "progress", "t": i * 0.1, "current": i, "total": len(losses)})
        events.append({"line": 2 * i + 1, "kind": "stats", "t": i * 0.1, "payload": {"step": i, "loss": loss}})
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (run_dir / "stdout.log").write_text("fixture lane\n")
    (run_dir / "stderr.log").write_text("")
    return run_dir
