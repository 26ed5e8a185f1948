"""The ledger: locked appends never lose or duplicate a runId; damage is reported with its line number."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from harness.ledger import LedgerError, append_entry, ledger_path, read_ledger

PROCESSES = 8
APPENDS = 100


def _entry(i: int, lane: str = "fixture") -> dict:
    return {
        "traceId": f"00000000-0000-4000-8000-{i:012d}",
        "time": "2026-01-01T00:00:00Z",
        "lane": lane,
        "commit": None,
        "verdict": "PASS",
        "firstFail": None,
        "certificateHash": "0" * 64,
        "integrityOk": True,
        "out_dir": "/tmp/out",
        "note": f"n{i}",
    }


def _appender(args: tuple[str, int]) -> list[int]:
    path, worker = args
    return [append_entry(path, _entry(worker * 1000 + i, f"w{worker}"))["runId"] for i in range(APPENDS)]


def test_eight_processes_append_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        ids = pool.map(_appender, [(str(path), w) for w in range(PROCESSES)])
    flat = sorted(i for chunk in ids for i in chunk)
    assert flat == list(range(1, PROCESSES * APPENDS + 1))
    read = read_ledger(path)
    assert read.ok, read.problems
    assert [e["runId"] for e in read.entries] == list(range(1, PROCESSES * APPENDS + 1))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == PROCESSES * APPENDS + 1
    per_worker = {f"w{w}": 0 for w in range(PROCESSES)}
    for e in read.entries:
        per_worker[e["lane"]] += 1
    assert set(per_worker.values()) == {APPENDS}
    for chunk in ids:  # each process saw its own runIds increase
        assert chunk == sorted(chunk)


def test_runids_are_gapless_from_one(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.jsonl"
    assert [append_entry(path, _entry(i))["runId"] for i in range(5)] == [1, 2, 3, 4, 5]
    assert read_ledger(path).ok


def test_torn_last_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    for i in range(3):
        append_entry(path, _entry(i))
    with path.open("ab") as f:
        f.write(b'{"runId": 4, "traceId": "abc')  # a crash mid-append
    before = path.read_bytes()
    read = read_ledger(path)
    assert [e["runId"] for e in read.entries] == [1, 2, 3]
    assert len(read.problems) == 1 and read.problems[0].startswith("line 4: torn last line")
    with pytest.raises(LedgerError, match="line 4 is torn"):
        append_entry(path, _entry(9))
    assert path.read_bytes() == before  # never rewritten, never silently dropped


def test_damaged_middle_line_and_gaps_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    lines = [json.dumps({"runId": 1, **_entry(1)}), "not json", json.dumps({"runId": 3, **_entry(3)})]
    path.write_text("\n".join(lines) + "\n")
    read = read_ledger(path)
    assert [e["runId"] for e in read.entries] == [1, 3]
    assert any(p.startswith("line 2: not JSON") for p in read.problems)
    assert any(p.startswith("line 3: runId 3 where 2 was expected") for p in read.problems)


def test_duplicate_runid_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    line = json.dumps({"runId": 1, **_entry(1)})
    path.write_text(line + "\n" + line + "\n")
    assert any("runId 1 appears again" in p for p in read_ledger(path).problems)


def test_ledger_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICELANE_LEDGER", raising=False)
    assert ledger_path(None) == Path("reports/ledger.jsonl")
    monkeypatch.setenv("VOICELANE_LEDGER", str(tmp_path / "env.jsonl"))
    assert ledger_path(None) == tmp_path / "env.jsonl"
    assert ledger_path(tmp_path / "arg.jsonl") == tmp_path / "arg.jsonl"


def test_cli_ledger_renders_md_and_json(tmp_path: Path) -> None:
    from conftest import voicelane

    path = tmp_path / "ledger.jsonl"
    append_entry(path, {**_entry(1), "note": "a | b <i>x</i>"})
    append_entry(path, _entry(2))
    md = voicelane("ledger", "--ledger", str(path))
    assert md.returncode == 0, md.stderr
    rows = [line for line in md.stdout.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["1", "2"]
    assert "a \\| b \\<i\\>x\\</i\\>" in md.stdout
    js = json.loads(voicelane("ledger", "--ledger", str(path), "--format", "json").stdout)
    assert [e["runId"] for e in js["entries"]] == [1, 2] and js["problems"] == []
    with path.open("ab") as f:
        f.write(b'{"runId"')
    torn = voicelane("ledger", "--ledger", str(path))
    assert torn.returncode == 1
    assert "line 3: torn last line" in torn.stderr
    assert voicelane("ledger", "--ledger", str(tmp_path / "none.jsonl")).returncode == 2
