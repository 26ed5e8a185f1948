"""The certificate binds to the evidence: equal evidence, equal hash; any change, a new hash; tampering is named."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_certificate_support import BUNDLE_REL, SPEC_TEXT, make_run

from harness import evidence as ev
from harness.certify import (
    CERTIFICATE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    certificate_hash,
    certify,
    certify_run,
    verify,
)
from harness.schemas import schema_errors
from harness.waivers import EMPTY, load_waivers

ROOT = Path(__file__).resolve().parents[1]
WAIVERS = ROOT / "fixtures" / "waivers" / "valid.toml"


def _hash(run_dir: Path, waivers: Path | None = None) -> str:
    return certify(run_dir, load_waivers(waivers) if waivers else EMPTY).certificate_hash


def test_statement_is_in_toto_v1_with_our_predicate(tmp_path: Path) -> None:
    done = certify(make_run(tmp_path))
    stmt = json.loads((done.run_dir / CERTIFICATE).read_text())
    assert stmt["_type"] == STATEMENT_TYPE
    assert stmt["predicateType"] == PREDICATE_TYPE
    assert schema_errors("certificate/1", stmt["predicate"]) == []
    names = [s["name"] for s in stmt["subject"]]
    assert names == sorted(f"{BUNDLE_REL}/{n}" for n in ("config.json", "manifest.json", "model.bin", "sample.wav"))
    assert all(len(s["digest"]["sha256"]) == 64 for s in stmt["subject"])
    assert certificate_hash(stmt) == done.certificate_hash
    evidence = stmt["predicate"]["evidence"]
    assert evidence["spec"]["content"] == SPEC_TEXT
    assert evidence["lane"]["argv"][-1] == "$VOICELANE_OUT"  # the run folder's own path never enters the hash
    assert [o["path"] for o in evidence["outputs"]] == sorted(o["path"] for o in evidence["outputs"])


def test_no_run_identity_inside_the_statement(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    certify_run(run_dir, tmp_path / "ledger.jsonl", "note")
    text = (run_dir / CERTIFICATE).read_text()
    meta = json.loads((run_dir / "certificate.meta.json").read_text())
    for volatile in (meta["traceId"], meta["time"], str(tmp_path)):
        assert volatile not in text
    assert meta["runId"] == 1


def test_same_evidence_same_hash_in_different_folders(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b")
    assert _hash(a) == _hash(b)
    assert _hash(a) == _hash(a)  # certifying again changes nothing


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "rel",
    [
        f"out/{BUNDLE_REL}/model.bin",
        f"out/{BUNDLE_REL}/sample.wav",
        f"out/{BUNDLE_REL}/config.json",
        "out/artifacts/train_status.json",
        "out/artifacts/dataset_manifest.json",
    ],
)
def test_one_byte_of_an_output_changes_the_hash(tmp_path: Path, rel: str) -> None:
    run_dir = make_run(tmp_path)
    before = _hash(run_dir)
    _flip_one_byte(run_dir / rel)
    assert _hash(run_dir) != before


def test_a_new_output_file_changes_the_hash(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    before = _hash(run_dir)
    (run_dir / "out" / "extra.txt").write_text("x")
    assert _hash(run_dir) != before


def test_one_byte_of_the_spec_changes_the_hash(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", spec_text=SPEC_TEXT.replace("fixture_lane", "fixture_lanf"))
    assert _hash(a) != _hash(b)


def test_one_byte_of_a_waiver_changes_the_hash(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, overrides={"BUNDLE-license-commercial": "fail"})
    other = tmp_path / "waivers.toml"
    other.write_bytes(WAIVERS.read_bytes().replace(b"2099-12-31", b"2099-12-30"))
    with_waiver = _hash(run_dir, WAIVERS)
    assert _hash(run_dir) != with_waiver
    assert _hash(run_dir, other) != with_waiver
    assert _hash(run_dir, WAIVERS) == with_waiver


def test_a_changed_rule_result_changes_the_hash(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", overrides={"DATASET-pinned": "fail"})
    assert _hash(a) != _hash(b)


def test_git_commit_and_dirty_flag_of_the_workdir(tmp_path: Path) -> None:
    repo = tmp_path / "lane"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert ev.git_identity(str(repo)) == {"commit": head, "dirty": False}
    clean = _hash(make_run(tmp_path / "r1", workdir=repo))
    (repo / "train.py").write_text("print(2)\n")
    assert ev.git_identity(str(repo)) == {"commit": head, "dirty": True}
    assert _hash(make_run(tmp_path / "r2", workdir=repo)) != clean
    assert ev.git_identity(str(tmp_path / "r1")) is None


# ─── verify ──────────────────────────────────────────────────────────────────


def _certified(tmp_path: Path) -> Path:
    run_dir = make_run(tmp_path)
    assert certify_run(run_dir, tmp_path / "ledger.jsonl", None) is None
    return run_dir


def test_untouched_run_verifies(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    check = verify(run_dir)
    assert check.integrity_ok, check.differences
    assert verify(run_dir / CERTIFICATE).integrity_ok


@pytest.mark.parametrize(
    "rel", [f"out/{BUNDLE_REL}/model.bin", f"out/{BUNDLE_REL}/sample.wav", "out/artifacts/train_status.json"]
)
def test_tampered_output_is_named(tmp_path: Path, rel: str) -> None:
    run_dir = _certified(tmp_path)
    _flip_one_byte(run_dir / rel)
    check = verify(run_dir)
    assert not check.integrity_ok
    name = rel.removeprefix("out/")
    assert any(name in d for d in check.differences), check.differences


def test_deleted_and_added_files_are_named(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    (run_dir / "out" / BUNDLE_REL / "config.json").unlink()
    (run_dir / "out" / "smuggled.bin").write_bytes(b"\0")
    diffs = verify(run_dir).differences
    assert f"out file missing: {BUNDLE_REL}/config.json" in diffs
    assert "out file added: smuggled.bin" in diffs


def test_edited_certificate_breaks_the_recorded_hash(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    cert = run_dir / CERTIFICATE
    stmt = json.loads(cert.read_text())
    stmt["predicate"]["verdict"] = "FAIL"
    cert.write_text(json.dumps(stmt))
    check = verify(run_dir)
    assert not check.integrity_ok
    assert any(d.startswith("certificateHash:") for d in check.differences)
    assert any(d.startswith("ledger:") for d in check.differences)
    assert any(d.startswith("verdict:") for d in check.differences)


def test_edited_result_json_is_named(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    result = json.loads((run_dir / "result.json").read_text())
    result["results"][0]["status"] = "fail"
    (run_dir / "result.json").write_text(json.dumps(result))
    assert any(d.startswith("results:") for d in verify(run_dir).differences)


def test_stored_integrity_is_never_trusted(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    meta_path = run_dir / "certificate.meta.json"
    meta = json.loads(meta_path.read_text())
    meta["integrityOk"] = True
    meta_path.write_text(json.dumps(meta))
    _flip_one_byte(run_dir / "out" / BUNDLE_REL / "model.bin")
    assert not verify(run_dir).integrity_ok


def test_waiver_copy_tampering_is_named(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, overrides={"BUNDLE-license-commercial": "fail"})
    assert certify_run(run_dir, tmp_path / "ledger.jsonl", None, waivers=WAIVERS) is None
    assert verify(run_dir).integrity_ok
    copy = run_dir / ev.WAIVERS_COPY
    copy.write_bytes(copy.read_bytes().replace(b"2099", b"2098"))
    assert any(d.startswith("waivers:") for d in verify(run_dir).differences)


def test_cli_verify_certificate_exit_codes(tmp_path: Path) -> None:
    from conftest import voicelane

    run_dir = _certified(tmp_path)
    ok = voicelane("verify-certificate", str(run_dir))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("integrityOk: true\n")
    _flip_one_byte(run_dir / "out" / BUNDLE_REL / "model.bin")
    bad = voicelane("verify-certificate", str(run_dir / CERTIFICATE))
    assert bad.returncode == 1
    assert "integrityOk: false" in bad.stdout
    assert f"{BUNDLE_REL}/model.bin" in bad.stdout
    as_json = json.loads(voicelane("verify-certificate", str(run_dir), "--format", "json").stdout)
    assert as_json["integrityOk"] is False
    assert voicelane("verify-certificate", str(tmp_path / "nope")).returncode == 2


def test_certify_run_reports_an_unreadable_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert certify_run(tmp_path / "empty", tmp_path / "ledger.jsonl", None) == 3
    assert "could not certify" in capsys.readouterr().err
    assert not (tmp_path / "ledger.jsonl").exists()


def test_certify_run_prints_the_certificate_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _certified(tmp_path)
    err = capsys.readouterr().err
    for key in ("verdict:", "firstFail:", "certificateHash:", "integrityOk:     true", "traceId:", "runId:"):
        assert key in err


def test_copied_run_folder_still_verifies(tmp_path: Path) -> None:
    run_dir = _certified(tmp_path)
    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    assert verify(moved).integrity_ok
