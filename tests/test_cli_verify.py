"""The ``voicelane verify`` and ``rules`` commands as a user runs them: output, exit codes, snapshots."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import GOOD, ROOT, bad_cases, voicelane


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


GOOD_TARGETS = [
    ("bundle", "fixtures/good/bundle"),
    ("status", "fixtures/good/train_status.json"),
    ("dataset", "fixtures/good/dataset/dataset_manifest.json"),
    ("dataset", "fixtures/good/dataset/dataset.jsonl"),
    ("log", "fixtures/good/stdout.log"),
]


@pytest.mark.parametrize(("what", "path"), GOOD_TARGETS)
def test_good_fixture_json(what: str, path: str, snapshot_json: SnapshotAssertion) -> None:
    proc = voicelane("verify", what, path, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["verdict"] == "PASS" and out["first_fail"] is None
    assert out == snapshot_json


@pytest.mark.parametrize("case", bad_cases(), ids=[c[1].name for c in bad_cases()])
def test_bad_fixture_json(case: tuple, snapshot_json: SnapshotAssertion) -> None:
    rule_id, case_dir, spec = case
    args = ["verify", spec["verify"], spec["path"], "--format", "json"]
    proc = voicelane(*args, cwd=case_dir)
    out = json.loads(proc.stdout)
    hard = next(r for r in out["results"] if r["id"] == rule_id)["severity"] == "hard"
    assert proc.returncode == (1 if hard else 0)
    if hard:
        assert out["verdict"] == "FAIL" and out["first_fail"]["id"] == rule_id
    assert out == snapshot_json


def test_text_output_names_id_code_location_message_and_remediation() -> None:
    proc = voicelane("verify", "bundle", "bundle", cwd=ROOT / "fixtures/bad/BUNDLE-checksum")
    assert proc.returncode == 1
    assert "FAIL  BUNDLE-checksum [checksum_mismatch] model.bin: model.bin has sha256" in proc.stdout
    assert "fix: Regenerate the manifest" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("bundle bundle: FAIL")


def test_log_from_stdin_and_allow_incomplete() -> None:
    assert voicelane("verify", "log", "-", stdin=(GOOD / "stdout.log").read_bytes()).returncode == 0
    partial = b"PROGRESS 3 10\n"
    assert voicelane("verify", "log", "-", stdin=partial).returncode == 1
    assert voicelane("verify", "log", "-", "--allow-incomplete", stdin=partial).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["verify"],
        ["verify", "bogus", "x"],
        ["verify", "log", "/no/such/file"],
        ["verify", "log", "-", "--max-line", "0"],
        ["nope"],
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    proc = voicelane(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_missing_bundle_folder_is_a_finding_not_a_crash(tmp_path) -> None:
    proc = voicelane("verify", "bundle", str(tmp_path / "nope"), "--format", "json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["first_fail"]["code"] == "manifest_missing"


def test_rules_command_lists_the_catalogue() -> None:
    out = json.loads(voicelane("rules", "--format", "json").stdout)
    assert {"id", "code", "severity", "description", "remediation"} <= set(out[0])
    assert "BUNDLE-checksum" in voicelane("rules").stdout


def test_help_imports_nothing_heavy() -> None:
    """``--help`` must answer at once: the CLI module imports only the standard library."""
    code = (
        "import sys; import harness.cli as c; c.build_parser().format_help();"
        "heavy = [m for m in ('jsonschema', 'numpy', 'soundfile', 'rich', 'orjson', 'torch') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == ""


def test_harness_runs_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None;"
        "from harness.cli import main; raise SystemExit(main(['verify', 'bundle', 'fixtures/good/bundle']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
