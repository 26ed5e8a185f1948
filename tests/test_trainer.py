"""The reference lane keeps every contract: a few steps on four utterances.

Runs ``python -m trainer`` in subprocesses exactly as a lane runner would, then
checks the protocol transcript, train_status, the dataset manifest and the
bundle (with the harness verifiers), bitwise determinism of two runs, the
failure path, and a ``speak`` round trip. Seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.trainer
pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("mel_cepstral_distance")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
SDE = "1767225600"
BUNDLE = "bundles/reference/voice_bundle"
TINY = ["--steps", "6", "--log-every", "2", "--batch-size", "4", "--threads", "1"]
VOLATILE = ("elapsed_s", "time", "wall_time_s")


def tiny_manifest(tmp: Path, n_train: int = 3) -> Path:
    """A dataset_manifest/1 of 3 train + 1 test utterances from the committed corpus."""
    doc = json.loads((CORPUS / "dataset_manifest.json").read_text(encoding="utf-8"))
    train = [e for e in doc["entries"] if e["split"] == "train"][:n_train]
    test = [e for e in doc["entries"] if e["split"] == "test"][:1]
    doc["entries"] = train + test
    path = tmp / "tiny.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def run_trainer(*args: str, out: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SDE, "VOICELANE_OUT": str(out)}
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def parse_transcript(stdout: str) -> list[tuple[str, Any]]:
    """Protocol events in order; plain log lines are dropped."""
    events: list[tuple[str, Any]] = []
    for line in stdout.splitlines():
        if line.startswith("PROGRESS "):
            cur, tot = line[len("PROGRESS ") :].split(" ")
            events.append(("PROGRESS", (int(cur), int(tot))))
        elif line.startswith("STATS "):
            events.append(("STATS", json.loads(line[len("STATS ") :])))
        elif line.startswith("ARTIFACT "):
            events.append(("ARTIFACT", line[len("ARTIFACT ") :]))
    return events


def check_well_formed(events: list[tuple[str, Any]]) -> list[list[tuple[int, int]]]:
    """Tick order, monotone phases, final completion; returns the phases."""
    assert events and events[0][0] == "PROGRESS"
    phases: list[list[tuple[int, int]]] = []
    seen_artifact = False
    for kind, payload in events:
        if kind == "PROGRESS":
            cur, tot = payload
            assert tot > 0 and 0 <= cur <= tot
            if not phases or phases[-1][-1][1] != tot:
                phases.append([])
            else:
                assert cur >= phases[-1][-1][0], "progress went backwards within a phase"
            phases[-1].append(payload)
            seen_artifact = False
        elif kind == "STATS":
            assert not seen_artifact, "STATS after ARTIFACT in one tick"
            assert isinstance(payload, dict)
            for key in ("loss", "lr", "elapsed_s"):
                if key in payload:
                    assert isinstance(payload[key], int | float) and not isinstance(payload[key], bool), key
            for key in ("step", "epoch", "dataset_items"):
                if key in payload:
                    assert isinstance(payload[key], int) and not isinstance(payload[key], bool), key
            if "bundle_valid" in payload:
                assert isinstance(payload["bundle_valid"], bool)
        else:
            seen_artifact = True
    for phase in phases:
        assert phase[-1][0] == phase[-1][1], f"phase ends incomplete: {phase[-1]}"
    return phases


def masked(events: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(k, {a: b for a, b in p.items() if a not in VOLATILE} if k == "STATS" else p) for k, p in events]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, subprocess.CompletedProcess[str]]]:
    tmp = tmp_path_factory.mktemp("trainer")
    manifest = tiny_manifest(tmp)
    runs = []
    for name in ("a", "b"):
        out = tmp / name
        proc = run_trainer("train", "--manifest", str(manifest), "--root", str(CORPUS), *TINY, out=out)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        runs.append((out, proc))
    return runs


def test_protocol_is_well_formed(two_runs: list[tuple[Path, Any]]) -> None:
    out, proc = two_runs[0]
    events = parse_transcript(proc.stdout)
    phases = check_well_formed(events)
    names = []
    for kind, payload in events:
        if kind == "STATS" and payload.get("phase") not in names:
            names.append(payload.get("phase"))
    assert names == ["setup", "prepare", "train", "evaluate", "export"]
    assert len(phases) == 5
    totals = [p[0][1] for p in phases]
    assert all(a != b for a, b in itertools.pairwise(totals))
    train_stats = [p for k, p in events if k == "STATS" and p.get("phase") == "train"]
    assert [s["step"] for s in train_stats] == [2, 4, 6]
    assert all({"loss", "lr", "step", "elapsed_s"} <= set(s) for s in train_stats)
    announced = [p for k, p in events if k == "ARTIFACT"]
    for rel in announced:
        assert (out / rel).is_file(), rel
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == set(announced), "every written file is announced, and only those"


def test_harness_verifies_outputs(two_runs: list[tuple[Path, Any]], tmp_path: Path) -> None:
    verify_mod = pytest.importorskip("harness.verify.bundle")
    from harness.results import verdict
    from harness.verify.dataset import verify_dataset
    from harness.verify.log import verify_log
    from harness.verify.status import verify_status

    out, proc = two_runs[0]
    log = tmp_path / "stdout.log"
    log.write_text(proc.stdout, encoding="utf-8")
    results = {
        "log": verify_log(log),
        "status": verify_status(out / "artifacts/train_status.json", out),
        "dataset": verify_dataset(out / "artifacts/dataset_manifest.json", CORPUS),
        "bundle": verify_mod.verify_bundle(out / BUNDLE),
    }
    for name, res in results.items():
        bad = [(r.id, r.message) for r in res if r.status not in ("pass", "skip")]
        assert verdict(res) == "PASS" and not bad, (name, bad)


def test_train_status_is_consistent(two_runs: list[tuple[Path, Any]]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out, proc = two_runs[0]
    status = json.loads((out / "artifacts/train_status.json").read_text(encoding="utf-8"))
    schema_path = ROOT / "contracts/schemas/train_status.schema.json"
    if schema_path.is_file():
        from harness.schemas import schema_errors

        assert not schema_errors("train_status/1", status)
    assert status["state"] == "completed"
    last = [p for k, p in parse_transcript(proc.stdout) if k == "PROGRESS"][-1]
    assert (status["progress"]["current"], status["progress"]["total"]) == last
    assert last[0] == last[1]
    announced = {p for k, p in parse_transcript(proc.stdout) if k == "ARTIFACT"}
    assert set(status["artifacts"]) <= announced
    assert status["started_at"] == status["finished_at"] == "2026-01-01T00:00:00Z"
    for key in ("mcd_heldout", "mcd_untrained", "mcd_griffinlim_ceiling", "lsd_heldout", "duration_ratio"):
        assert isinstance(status["stats"][key], float), key
    manifest = json.loads((out / BUNDLE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["licenses"]["commercial_use_allowed"] is True
    assert manifest["created_at"] == "2026-01-01T00:00:00Z"
    del jsonschema


def test_two_runs_are_bitwise_identical(two_runs: list[tuple[Path, Any]]) -> None:
    (out_a, proc_a), (out_b, proc_b) = two_runs
    assert masked(parse_transcript(proc_a.stdout)) == masked(parse_transcript(proc_b.stdout))
    digest_a, digest_b = tree_digest(out_a / BUNDLE), tree_digest(out_b / BUNDLE)
    manifest_a, manifest_b = (
        json.loads((o / BUNDLE / "manifest.json").read_text(encoding="utf-8")) for o in (out_a, out_b)
    )
    if manifest_a["provenance"]["source_commit"] != manifest_b["provenance"]["source_commit"]:
        # Someone committed to this checkout between the two runs: only the
        # recorded commit (and so manifest.json's bytes) may differ.
        for doc in (manifest_a, manifest_b):
            doc["provenance"].pop("source_commit")
        assert manifest_a == manifest_b
        digest_a.pop("manifest.json")
        digest_b.pop("manifest.json")
    assert digest_a == digest_b
    assert tree_digest(out_a / "artifacts") == tree_digest(out_b / "artifacts")


def test_speak_round_trip(two_runs: list[tuple[Path, Any]], tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng (Debian package espeak-ng) is not installed")
    import soundfile as sf

    out, _ = two_runs[0]
    wav = tmp_path / "hello.wav"
    proc = run_trainer(
        "speak",
        "--bundle",
        str(out / BUNDLE),
        "--text",
        "The quick brown fox jumps over the lazy dog.",
        "--out",
        str(wav),
        out=tmp_path / "unused",
    )
    assert proc.returncode == 0, proc.stderr
    audio, sr = sf.read(wav)
    assert sr == 22050 and audio.size / sr >= 0.2 and float(abs(audio).max()) > 0.01


def test_speak_refuses_a_tampered_bundle(two_runs: list[tuple[Path, Any]], tmp_path: Path) -> None:
    pytest.importorskip("harness.verify.bundle")
    out, _ = two_runs[0]
    bundle = tmp_path / "bundle"
    shutil.copytree(out / BUNDLE, bundle)
    weights = bundle / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    proc = run_trainer(
        "speak", "--bundle", str(bundle), "--text", "Hello.", "--out", str(tmp_path / "x.wav"), out=tmp_path / "unused"
    )
    assert proc.returncode == 1, proc.stderr
    assert "failed verification" in proc.stderr
    assert not (tmp_path / "x.wav").exists()


def _error_status(out: Path) -> dict[str, Any]:
    status = json.loads((out / "artifacts/train_status.json").read_text(encoding="utf-8"))
    assert status["state"] == "error"
    return status


def test_missing_audio_is_dataset_no_audio(tmp_path: Path) -> None:
    manifest = tiny_manifest(tmp_path)
    out = tmp_path / "out"
    proc = run_trainer("train", "--manifest", str(manifest), "--root", str(tmp_path / "nowhere"), *TINY, out=out)
    assert proc.returncode != 0
    assert _error_status(out)["error"]["code"] == "dataset_no_audio"
    assert not [p for p in out.rglob("*.tmp")], "status must be written atomically"


def test_empty_manifest_is_dataset_no_audio(tmp_path: Path) -> None:
    manifest = tmp_path / "empty.json"
    manifest.write_text(json.dumps({"manifest_version": "dataset_manifest/1", "entries": []}))
    out = tmp_path / "out"
    proc = run_trainer("train", "--manifest", str(manifest), *TINY, out=out)
    assert proc.returncode != 0
    assert _error_status(out)["error"]["code"] == "dataset_no_audio"
    assert parse_transcript(proc.stdout) == [
        ("PROGRESS", (0, 1)),
        ("STATS", {"phase": "setup", "elapsed_s": parse_transcript(proc.stdout)[1][1]["elapsed_s"]}),
        ("PROGRESS", (0, 1)),
        ("ARTIFACT", "artifacts/train_status.json"),
    ]


def test_garbage_manifest_is_dataset_invalid(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.json"
    manifest.write_text("{not json")
    out = tmp_path / "out"
    proc = run_trainer("train", "--manifest", str(manifest), *TINY, out=out)
    assert proc.returncode != 0
    status = _error_status(out)
    assert status["error"]["code"] == "dataset_invalid"
    if (ROOT / "contracts/schemas/train_status.schema.json").is_file():
        from harness.schemas import schema_errors

        assert not schema_errors("train_status/1", status)


def test_checksum_mismatch_is_dataset_invalid(tmp_path: Path) -> None:
    manifest = tiny_manifest(tmp_path)
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["entries"][0]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_trainer("train", "--manifest", str(manifest), "--root", str(CORPUS), *TINY, out=out)
    assert proc.returncode != 0
    status = _error_status(out)
    assert status["error"]["code"] == "dataset_invalid"
    events = parse_transcript(proc.stdout)
    assert ("ARTIFACT", "artifacts/train_status.json") in events


def test_nemo_jsonl_without_phonemes_trains(tmp_path: Path) -> None:
    """NeMo-style JSONL, characters instead of phonemes, no splits: still a valid run."""
    doc = json.loads(tiny_manifest(tmp_path).read_text(encoding="utf-8"))
    lines = [
        json.dumps({"audio_filepath": e["audio_filepath"], "text": e["text"], "duration": e["duration"]})
        for e in doc["entries"]
    ]
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run_trainer("--manifest", str(manifest), "--root", str(CORPUS), *TINY, out=out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    check_well_formed(parse_transcript(proc.stdout))
    config = json.loads((out / BUNDLE / "config.json").read_text(encoding="utf-8"))
    assert config["phoneme_type"] == "text"


def test_cuda_without_gpu_is_device_unavailable(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = tmp_path / "out"
    proc = run_trainer(
        "train", "--manifest", str(tiny_manifest(tmp_path)), "--root", str(CORPUS), *TINY, "--device", "cuda", out=out
    )
    assert proc.returncode != 0
    assert _error_status(out)["error"]["code"] == "device_unavailable"
