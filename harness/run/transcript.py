"""``events.jsonl``: one JSON object per protocol event, written as it arrives.

Each line is ``{"line", "kind", "t", ...}`` with the event's own fields
(``current``/``total``/``phase``, ``payload``, or ``path``) and ``t`` the
seconds since the lane started, rounded to milliseconds. The file is the
evidence the determinism and snapshot checks read back, line by line, so
nothing about a run's events needs to stay in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from harness.protocol import Artifact, Event, Progress, Stats

FILE = "events.jsonl"


def event_dict(event: Event, t: float) -> dict[str, Any]:
    if isinstance(event, Progress):
        return {
            "line": event.line,
            "kind": event.kind,
            "t": t,
            "current": event.current,
            "total": event.total,
            "phase": event.phase,
        }
    if isinstance(event, Stats):
        return {"line": event.line, "kind": event.kind, "t": t, "payload": event.payload}
    assert isinstance(event, Artifact)
    return {"line": event.line, "kind": event.kind, "t": t, "path": event.path}


class TranscriptWriter:
    """Appends events in batches (one write per stdout chunk, not per event)."""

    def __init__(self, path: Path) -> None:
        self._f: BinaryIO = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed by close()

    def write(self, events: Sequence[Event], t: float) -> None:
        # Hand-formatted: this runs once per protocol event, and a lane may print millions.
        # The bytes are the same JSON that ``event_dict`` + a JSON encoder would give.
        ts = repr(round(t, 3))
        dumps = orjson.dumps
        parts: list[bytes] = []
        add = parts.append
        for e in events:
            kind = e.kind
            if kind == "progress":
                p: Progress = e  # type: ignore[assignment]
                add(
                    f'{{"line":{p.line},"kind":"progress","t":{ts},'
                    f'"current":{p.current},"total":{p.total},"phase":{p.phase}}}\n'.encode()
                )
            elif kind == "stats":
                s: Stats = e  # type: ignore[assignment]
                add(f'{{"line":{s.line},"kind":"stats","t":{ts},"payload":'.encode() + dumps(s.payload) + b"}\n")
            else:
                add(dumps(event_dict(e, round(t, 3)), option=orjson.OPT_APPEND_NEWLINE))
        self._f.write(b"".join(parts))

    def close(self) -> None:
        self._f.close()


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a transcript, streamed (missing file: none)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            if raw.strip():
                yield orjson.loads(raw)


def normalized(event: dict[str, Any], volatile: Sequence[str]) -> dict[str, Any]:
    """The event without its time, and with volatile STATS values masked: what must repeat."""
    out = {k: v for k, v in event.items() if k != "t"}
    payload = out.get("payload")
    if isinstance(payload, dict) and volatile:
        out["payload"] = {k: ("<volatile>" if k in volatile else v) for k, v in payload.items()}
    return out
