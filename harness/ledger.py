"""The execution ledger: one JSON line per certified run, append-only.

Appends hold an exclusive ``flock`` on the ledger while they read the last
runId and write the next line in one ``write`` on an ``O_APPEND`` fd, then
fsync — so concurrent ``voicelane run`` processes never lose an entry or
share a runId. The ledger is never rewritten: a torn last line (a crash
mid-append) is reported with its line number, and appends refuse to go on
until a person has looked at it, because guessing would hide the damage.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.jsonfile import JsonFileError, loads_strict

DEFAULT_LEDGER = Path("reports") / "ledger.jsonl"
ENV = "VOICELANE_LEDGER"
#: Longest ledger line read back when looking for the last runId.
MAX_LINE = 1 << 20


class LedgerError(Exception):
    """The ledger cannot be appended to (torn or damaged last line, unwritable file)."""


def ledger_path(arg: str | os.PathLike[str] | None = None) -> Path:
    """``--ledger`` if given, else ``$VOICELANE_LEDGER``, else ``reports/ledger.jsonl``."""
    if arg:
        return Path(arg)
    env = os.environ.get(ENV)
    return Path(env) if env else DEFAULT_LEDGER


@contextmanager
def _locked(path: Path, write: bool) -> Iterator[int]:
    flags = (os.O_RDWR | os.O_CREAT | os.O_APPEND) if write else os.O_RDONLY
    fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _last_line(fd: int, path: Path) -> bytes:
    """The file's last line, with its newline when it has one; read backwards in blocks."""
    pos = os.fstat(fd).st_size
    buf = b""
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        nl = buf.rfind(b"\n", 0, len(buf) - 1)  # the file's final byte may be the last line's own newline
        if nl != -1:
            return buf[nl + 1 :]
        if len(buf) > MAX_LINE:
            raise LedgerError(f"{path}: the last line is longer than {MAX_LINE} bytes; inspect it by hand")
    return buf


def _line_count(fd: int) -> int:
    """Newlines in the file: the number of the next line is this + 1 (only read when reporting damage)."""
    count = 0
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        count += block.count(b"\n")
        offset += len(block)
    return count


def append_entry(path: str | os.PathLike[str], entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` with the next runId under an exclusive lock; return it with its runId."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    with _locked(path, write=True) as fd:
        last = _last_line(fd, path)
        run_id = 1
        if last:
            if not last.endswith(b"\n"):
                line = _line_count(fd) + 1
                raise LedgerError(
                    f"{path}: line {line} is torn (no newline: a crash mid-append?); "
                    "voicelane never rewrites the ledger — inspect and repair it by hand"
                )
            try:
                prev = loads_strict(last)
                run_id = int(prev["runId"]) + 1
            except (JsonFileError, KeyError, TypeError, ValueError):
                line = _line_count(fd)
                raise LedgerError(f"{path}: line {line} is not a ledger entry; inspect and repair it by hand") from None
        record = {"runId": run_id, **{k: v for k, v in entry.items() if k != "runId"}}
        data = (json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except InterruptedError:
                continue
            view = view[n:]
        os.fsync(fd)
    if created:
        _fsync_dir(path.parent)
    return record


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
    finally:
        os.close(dfd)


@dataclass(slots=True)
class LedgerRead:
    """The entries that could be read, in file order, and every problem found, with its line number."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_ledger(path: str | os.PathLike[str]) -> LedgerRead:
    """Read the whole ledger under a shared lock; report torn, invalid, duplicated or missing runIds."""
    from harness.schemas import schema_errors

    path = Path(path)
    out = LedgerRead(path)
    if not path.exists():
        return out
    with _locked(path, write=False) as fd, os.fdopen(os.dup(fd), "rb") as f:
        lines = f.read().split(b"\n")
    torn_tail = lines[-1] != b""
    expected = 1
    seen: set[int] = set()
    for number, raw in enumerate(lines, 1):
        if number == len(lines) and not torn_tail:
            break
        if number == len(lines):
            out.problems.append(f"line {number}: torn last line (no newline: a crash mid-append?); it is not counted")
            break
        try:
            entry = loads_strict(raw)
        except JsonFileError as exc:
            out.problems.append(f"line {number}: {exc}")
            continue
        errors = schema_errors("ledger_entry/1", entry)
        if errors:
            out.problems.append(f"line {number}: not a ledger_entry/1: {errors[0]}")
            continue
        run_id = entry["runId"]
        if run_id in seen:
            out.problems.append(f"line {number}: runId {run_id} appears again")
        elif run_id != expected:
            out.problems.append(f"line {number}: runId {run_id} where {expected} was expected (a gap)")
        seen.add(run_id)
        expected = run_id + 1
        out.entries.append(entry)
    return out


def render_markdown(read: LedgerRead) -> str:
    """The ordered run table as Markdown (lane-written text escaped)."""
    from harness.report.escape import md

    lines = [
        "| runId | time | lane | commit | verdict | firstFail | certificateHash | integrityOk | note |",
        "|---:|---|---|---|---|---|---|---|---|",
    ]
    for e in read.entries:
        ff = e.get("firstFail")
        ff_text = f"{ff.get('id')} [{ff.get('code')}]" if isinstance(ff, dict) else "—"
        commit = (e.get("commit") or "—")[:12] + ("+dirty" if e.get("dirty") else "")
        cells = [
            str(e["runId"]),
            e["time"],
            e.get("lane") or "—",
            commit,
            e["verdict"],
            ff_text,
            f"`{e['certificateHash'][:16]}`",
            "true" if e["integrityOk"] else "false",
            e.get("note") or "",
        ]
        lines.append("| " + " | ".join(c if i == 6 else md(c) for i, c in enumerate(cells)) + " |")
    for p in read.problems:
        lines.append(f"\n**ledger problem:** {md(p)}")
    return "\n".join(lines) + "\n"
