"""`voicelane run` on the lane fixtures: each bad lane yields exactly its code, and nothing survives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from harness.catalogue import for_scope, rule
from harness.cli import main

LANES = Path(__file__).resolve().parent.parent / "fixtures" / "lanes"
DOCKER_BIN = LANES / "docker" / "bin"
BAD = sorted(p for p in LANES.iterdir() if p.is_dir() and (p / "lane.toml").exists() and p.name[:1].isupper())


def lane_processes(out_dir: Path) -> list[int]:
    """Pids of live processes whose environment names this run's VOICELANE_OUT."""
    needle = f"VOICELANE_OUT={out_dir}".encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            env = Path(f"/proc/{name}/environ").read_bytes()
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and needle in env.split(b"\0"):
            pids.append(int(name))
    return pids


def case_args(lane: Path) -> list[str]:
    case = lane / "case.toml"
    if not case.exists():
        return []
    return [a.replace("{here}", str(lane)) for a in tomllib.loads(case.read_text())["args"]]


def run(capsys: pytest.CaptureFixture[str], spec: Path, out: Path, *args: str) -> tuple[int, dict]:
    code = main(["run", str(spec), "--out", str(out), "--format", "json", *args])
    doc = json.loads(capsys.readouterr().out)
    return code, doc


def failing_codes(doc: dict) -> set[str]:
    return {r["code"] for r in doc["results"] if r["status"] == "fail"}


def test_every_lane_rule_has_a_failing_lane() -> None:
    have = {p.name.split("--")[0] for p in BAD}
    missing = [r.id for r in for_scope("lane") if r.id not in have]
    assert not missing, f"lane rules without a fixture under fixtures/lanes/: {missing}"


@pytest.mark.parametrize("lane", BAD, ids=lambda p: p.name)
def test_bad_lane_yields_exactly_its_code(
    lane: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOOD_MB", "20")
    expected = rule(lane.name.split("--")[0])
    out = tmp_path / "run"
    code, doc = run(capsys, lane / "lane.toml", out, *case_args(lane))
    assert failing_codes(doc) == {expected.code}, doc["results"]
    assert not [r for r in doc["results"] if r["status"] == "error"]
    if expected.severity == "hard":
        assert code == 1 and doc["verdict"] == "FAIL"
        assert doc["first_fail"]["code"] == expected.code
    else:
        assert code == 0 and doc["verdict"] == "PASS"
    assert json.loads((out / "result.json").read_text())["verdict"] == doc["verdict"]
    assert lane_processes(out / "out") == []


def test_pass_lane_layout_and_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, doc = run(capsys, LANES / "pass" / "lane.toml", out)
    assert code == 0, [r for r in doc["results"] if r["status"] in ("fail", "error")]
    assert doc["verdict"] == "PASS" and doc["first_fail"] is None
    for name in ("out", "stdout.log", "stderr.log", "events.jsonl", "result.json"):
        assert (out / name).exists(), name
    run_ = doc["run"]
    assert run_["lane"] == "fixture-pass" and run_["kind"] == "command" and run_["exit_code"] == 0
    assert run_["env"] == {"SEED": "1337"} and run_["outputs"]["bundle"] == "bundle"
    assert run_["out_dir"] == str(out / "out") and run_["repeat"] == 1 and run_["image"] is None
    assert not run_["timed_out"] and not run_["stalled"] and run_["signal"] is None
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0] == {"line": 2, "kind": "progress", "t": events[0]["t"], "current": 1, "total": 1, "phase": 1}
    assert {e["kind"] for e in events} == {"progress", "stats", "artifact"}
    ids = [r["id"] for r in doc["results"]]
    assert [i for i in ids if i.startswith("LANE-")] == [r.id for r in for_scope("lane")]


def test_pass_lane_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, doc = run(capsys, LANES / "pass" / "lane.toml", out, "--repeat", "2")
    assert code == 0
    det = next(r for r in doc["results"] if r["id"] == "LANE-determinism")
    assert det["status"] == "pass"
    assert (out / "repeats" / "2" / "out" / "bundle" / "manifest.json").exists()
    assert (out / "repeats" / "2" / "events.jsonl").exists()


def test_snapshot_update_then_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snaps = tmp_path / "snaps"
    spec = LANES / "pass" / "lane.toml"
    code, _ = run(capsys, spec, tmp_path / "a", "--snapshot-dir", str(snaps), "--update-snapshots")
    assert code == 0
    stored = snaps / "fixture-pass.json"
    text = stored.read_text()
    from syrupy.extensions.json import JSONSnapshotExtension

    assert JSONSnapshotExtension().serialize(json.loads(text)) == text  # syrupy's own format
    code, doc = run(capsys, spec, tmp_path / "b", "--snapshot-dir", str(snaps))
    snap = next(r for r in doc["results"] if r["id"] == "LANE-snapshot")
    assert code == 0 and snap["status"] == "pass"


def test_snapshot_drift_shows_a_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lane = LANES / "LANE-snapshot"
    _, doc = run(capsys, lane / "lane.toml", tmp_path / "r", *case_args(lane))
    drift = next(r for r in doc["results"] if r["id"] == "LANE-snapshot")
    assert drift["severity"] == "soft"
    assert '-        "loss": 0.5' in drift["message"] and '+        "loss": 0.25' in drift["message"]


def test_crash_reports_the_lanes_error_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = run(capsys, LANES / "LANE-exit" / "lane.toml", tmp_path / "r")
    assert "exit status 3" in doc["first_fail"]["message"]
    assert "dataset_invalid" in doc["first_fail"]["message"]
    assert "entry 3 has no transcript" in (tmp_path / "r" / "stderr.log").read_text()


def test_orphaned_grandchild_is_killed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    run(capsys, LANES / "LANE-orphans" / "lane.toml", out)
    pid = int((out / "out" / "grandchild.pid").read_text())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z":
            break
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{pid}").exists(), "the grandchild survived the run"


def test_timeout_kills_a_lane_that_ignores_sigterm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    _, doc = run(capsys, LANES / "LANE-timeout--ignores-sigterm" / "lane.toml", tmp_path / "r")
    assert doc["run"]["timed_out"] and doc["run"]["signal"] == 9
    assert time.monotonic() - start < 5


def test_stall_is_not_a_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = run(capsys, LANES / "LANE-stalled" / "lane.toml", tmp_path / "r")
    assert doc["run"]["stalled"] and not doc["run"]["timed_out"]
    assert next(r for r in doc["results"] if r["id"] == "LANE-exit")["status"] == "skip"


def test_flood_without_newline_keeps_memory_bounded(tmp_path: Path) -> None:
    """300 MB on one line through a child `voicelane run`: its peak RSS stays small.

    The run is started from a small intermediate interpreter: a child forked
    straight from this (large) pytest worker would count the worker's pages
    in its own peak RSS.
    """
    out = tmp_path / "r"
    spec = LANES / "PROTO-line-length--flood" / "lane.toml"
    env = {**os.environ, "FLOOD_MB": "300"}
    cmd = [sys.executable, "-m", "harness", "run", str(spec), "--out", str(out), "--format", "json"]
    cmd += ["--ledger", str(tmp_path / "ledger.jsonl")]
    probe = (
        "import json, resource, subprocess, sys;"
        f"p = subprocess.run({cmd!r}, capture_output=True);"
        "print(json.dumps({'rc': p.returncode, 'out': p.stdout.decode(),"
        " 'rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    doc = json.loads(report["out"])
    assert report["rc"] == 1 and doc["first_fail"]["code"] == "line_too_long"
    assert report["rss_kib"] < 150 * 1024, f"peak RSS {report['rss_kib']} KiB"
    assert (out / "stdout.log").stat().st_size < 2 * 1024 * 1024  # capped at 1 MiB plus a marker


def test_docker_adapter_with_a_stand_in_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{DOCKER_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_STUB_LOG", str(log))
    code, doc = run(capsys, LANES / "docker" / "lane.toml", tmp_path / "r")
    assert code == 0, [r for r in doc["results"] if r["status"] != "pass" and r["status"] != "skip"]
    argv = json.loads(log.read_text().splitlines()[0])
    assert argv[:2] == ["run", "--rm"] and "--name" in argv
    assert f"{tmp_path / 'r' / 'out'}:/voicelane/out" in argv
    assert "VOICELANE_OUT=/voicelane/out" in argv and "SEED=7" in argv
    assert argv[-3:] == ["voicelane-fixture:1", "python3", "lane.py"]
    assert doc["run"]["image"] == "voicelane-fixture:1" and doc["run"]["argv"][0] == "docker"


def test_docker_timeout_kills_the_container(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{DOCKER_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_STUB_LOG", str(log))
    text = (LANES / "docker" / "lane.toml").read_text().replace("timeout_s = 5", "timeout_s = 1")
    text = text.replace("[env]", f'workdir = "{LANES / "docker"}"\n[env]\nLANE_SLEEP = "30"', 1)
    spec = tmp_path / "lane.toml"
    spec.write_text(text)
    _, doc = run(capsys, spec, tmp_path / "r")
    assert doc["first_fail"]["code"] == "lane_timeout"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    name = calls[0][calls[0].index("--name") + 1]
    assert ["kill", "--signal", "TERM", name] in calls
    assert lane_processes(tmp_path / "r" / "out") == []


def test_docker_without_the_cli_is_a_spawn_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _, doc = run(capsys, LANES / "docker" / "lane.toml", tmp_path / "r")
    assert doc["first_fail"]["code"] == "lane_spawn_failed" and "docker" in doc["first_fail"]["message"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('name = "x"\nkind = "command"\ncommand = ["true"]\ntimeout = 3\n', "timeout"),
        ('name = "x"\nkind = "command"\ncommand = ["true"]\ntimeout_s = -1\n', "/timeout_s"),
        ('name = "x"\nkind = "docker"\ncommand = ["true"]\n', "image"),
        ('name = "x"\nkind = "http"\ncommand = ["true"]\n', "/kind"),
        ('name = "../x"\nkind = "command"\ncommand = ["true"]\n', "/name"),
        ('name = "x"\nkind = "command"\ncommand = []\n', "/command"),
        ('name = "x"\nkind = "command"\ncommand = ["true"]\n[outputs]\nbundle = "../b"\n', "/outputs/bundle"),
        ('name = "x"\nkind = "command"\ncommand = ["true"]\n[expect.metrics]\nm = { min = 2, max = 1 }\n', "m"),
        ("name = \n", "TOML"),
    ],
)
def test_bad_spec_is_a_usage_error(text: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "lane.toml"
    spec.write_text(text)
    assert main(["run", str(spec), "--out", str(tmp_path / "r")]) == 2
    assert needle in capsys.readouterr().err


def test_non_empty_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x").write_text("keep me")
    assert main(["run", str(LANES / "pass" / "lane.toml"), "--out", str(tmp_path / "r")]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_default_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(LANES / "LANE-metric-bounds" / "lane.toml")]) == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("fixture-metric-bounds-") and run_dir.name.endswith("Z")
    assert "run folder:" in capsys.readouterr().out
