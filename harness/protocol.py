"""The streaming protocol parser: bytes in, events and findings out.

A lane's stdout is framed by ``\\n`` only — never by how the bytes arrive —
so feeding the same bytes in any split gives the same events and findings.
Memory is bounded by the line cap: an over-long line is counted and dropped,
never buffered whole. Every line is classified (protocol, log, too long, not
UTF-8) and no input makes the parser raise.

The grammar and the rules are in ``contracts/protocol.md``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from harness.catalogue import Checklist
from harness.results import Result

DEFAULT_MAX_LINE = 64 * 1024
#: More digits than this cannot be a 64-bit count.
_MAX_DIGITS = 18
_KEYWORDS = ("PROGRESS", "STATS", "ARTIFACT")
_PROGRESS_FAST = re.compile(r"PROGRESS ([0-9]{1,18}) ([0-9]{1,18})\Z")


# Events are slotted, not frozen: a frozen dataclass's __init__ costs several times more,
# and the parser creates one per protocol line.
@dataclass(slots=True)
class Progress:
    line: int
    current: int
    total: int
    phase: int
    kind: str = "progress"


@dataclass(slots=True)
class Stats:
    line: int
    payload: dict[str, Any]
    kind: str = "stats"


@dataclass(slots=True)
class Artifact:
    line: int
    path: str
    kind: str = "artifact"


Event = Progress | Stats | Artifact


@dataclass(slots=True)
class Finding:
    rule_id: str
    line: int
    message: str


class _NonFinite(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


#: JSON Schema type → the Python types orjson/json produce for it (bool is not a number).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int, float),
    "number": (int, float),
    "boolean": (bool,),
    "string": (str,),
}

ReservedKey = tuple[str, tuple[type, ...], float | None, bool]


@cache
def _reserved_stats() -> tuple[ReservedKey, ...]:
    """The reserved STATS keys compiled from the stats/1 schema: (key, types, minimum, integral).

    Only ``type`` and ``minimum`` are compiled, and compiling fails loudly if
    the schema grows another keyword; the full jsonschema validator writes the
    message when a fast check fails, so the schema stays the single source of
    truth.
    """
    from contracts import load_schema

    out: list[ReservedKey] = []
    for key, prop in load_schema("stats/1").get("properties", {}).items():
        unknown = set(prop) - {"type", "minimum", "description"}
        if unknown or prop["type"] not in _JSON_TYPES:
            raise ValueError(f"stats/1 property {key} uses {sorted(unknown) or prop['type']}; extend the fast path")
        out.append((key, _JSON_TYPES[prop["type"]], prop.get("minimum"), prop["type"] == "integer"))
    return tuple(out)


class ProtocolParser:
    """Incremental parser and checker of the protocol over one stdout stream."""

    def __init__(
        self,
        max_line: int = DEFAULT_MAX_LINE,
        on_event: Callable[[Event], None] | None = None,
        *,
        keep_events: bool = True,
    ) -> None:
        """``keep_events=False`` (a verifier that only wants findings) skips building the
        event list and ``on_event`` calls; findings and ``last_progress`` are the same."""
        self.max_line = max_line
        self.on_event = on_event
        self.keep_events = keep_events
        self.findings: list[Finding] = []
        self.lines = 0
        self.log_lines = 0
        self.events = 0
        self.last_progress: Progress | None = None
        self._buf = bytearray()
        self._discarding = False  # inside a line already known to be too long
        self._discard_len = 0
        self._tick = 0  # 0: before first PROGRESS, 1: in a tick, 2: after an ARTIFACT
        self._phase = 0
        self._reserved: dict[str, tuple[tuple[type, ...], float | None, bool]] = {
            key: (types, low, integral) for key, types, low, integral in _reserved_stats()
        }
        self._plans: dict[tuple[str, ...], tuple[tuple[str, tuple[type, ...], float | None, bool], ...]] = {}
        self._closed = False

    # ── framing ──────────────────────────────────────────────────────────
    def feed(self, data: bytes) -> list[Event]:
        """Consume the next bytes of the stream; return the events completed by them."""
        out: list[Event] = []
        if not data:
            return out
        start = 0
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                self._discard_len += len(data)
                return out
            self._discard_len += nl
            self._end_too_long()
            start = nl + 1
        elif self._buf:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._buffer(data)
                return out
            self._buf += data[:nl]
            line = bytes(self._buf)
            self._buf.clear()
            self._line_bytes(line, out)
            start = nl + 1
        last = data.rfind(b"\n", start)
        if last >= 0:
            self._block(data[start:last], out)
            start = last + 1
        if start < len(data):
            self._buffer(data[start:])
        return out

    def close(self) -> list[Event]:
        """End of stream: a final line without ``\\n`` still counts."""
        out: list[Event] = []
        if self._closed:
            return out
        self._closed = True
        if self._discarding:
            self._end_too_long()
        elif self._buf:
            line = bytes(self._buf)
            self._buf.clear()
            self._line_bytes(line, out)
        return out

    def _buffer(self, data: bytes) -> None:
        if len(self._buf) + len(data) > self.max_line:
            self._discarding = True
            self._discard_len = len(self._buf) + len(data)
            self._buf.clear()
        else:
            self._buf += data

    def _end_too_long(self) -> None:
        self.lines += 1
        self._finding("PROTO-line-length", f"line is {self._discard_len} bytes, over the {self.max_line}-byte cap")
        self._discarding = False
        self._discard_len = 0

    def _block(self, block: bytes, out: list[Event]) -> None:
        """Whole lines joined by ``\\n``: decode once, then classify.

        Fast path: when the block is valid UTF-8 and no line is over the cap,
        a regex finds the lines that start with a keyword and every other line
        is counted as a log line without touching Python code. Otherwise each
        line goes through the careful per-line path. Both give the same result.
        """
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            for raw in block.split(b"\n"):
                self._line_bytes(raw, out)
            return
        lines = text.split("\n")
        if len(block) > self.max_line and max(map(len, lines)) > self.max_line // 4:
            for line in lines:
                if len(line) > self.max_line // 4 and len(line.encode()) > self.max_line:
                    self.lines += 1
                    size = len(line.encode())
                    self._finding("PROTO-line-length", f"line is {size} bytes, over the {self.max_line}-byte cap")
                    continue
                self._line(line, out)
            return
        self._scan(lines, out)

    def _scan(self, lines: list[str], out: list[Event]) -> None:
        """Classify the lines of a clean block; the common well-formed cases are inlined.

        A PROGRESS that continues the current phase and a STATS object inside
        a tick are handled here; anything else (a new phase, a regression, bad
        JSON, a wrong order) goes through the per-line path, which is the
        reference behaviour the fast path must agree with.
        """
        base = self.lines
        keep = self.keep_events
        loads, match, reserved_ok = orjson.loads, _PROGRESS_FAST.match, self._reserved_ok
        hits = [(i, line) for i, line in enumerate(lines, start=base + 1) if line.startswith(_KEYWORDS)]
        for index, line in hits:
            if line[-1:] == "\r":
                line = line[:-1]
            event: Event | None = None
            done = False
            if line[0] == "P":
                m = match(line)
                last = self.last_progress
                if m is not None and last is not None:
                    current, total = map(int, m.groups())
                    if total == last.total and last.current <= current <= total:
                        self._tick = 1
                        done = True
                        if keep:
                            event = self.last_progress = Progress(index, current, total, last.phase)
                        else:  # nobody holds the old object: update it in place
                            last.line, last.current = index, current
            elif self._tick == 1 and line.startswith("STATS {"):
                try:
                    value = loads(line[6:])
                except orjson.JSONDecodeError:
                    value = None
                if type(value) is dict and reserved_ok(value):
                    done = True
                    if keep:
                        event = Stats(index, value)
            if not done:
                self.lines = index - 1
                self._line(line, out)
            elif event is not None:
                self.events += 1
                out.append(event)
                if self.on_event is not None:
                    self.on_event(event)
            else:
                self.events += 1
        self.lines = base + len(lines)
        self.log_lines += len(lines) - len(hits)

    def _reserved_ok(self, value: dict[str, Any]) -> bool:
        """Reserved STATS keys have their schema types (the compiled fast check).

        A lane prints the same keys tick after tick, so the reserved keys of each
        key sequence are looked up once and kept as a small plan.
        """
        keys = tuple(value)
        plan = self._plans.get(keys)
        if plan is None:
            plan = tuple((k, *self._reserved[k]) for k in keys if k in self._reserved)
            if len(self._plans) < 256:
                self._plans[keys] = plan
        for key, types, low, integral in plan:
            v = value[key]
            if type(v) not in types or (integral and type(v) is float and not v.is_integer()):
                return False
            if low is not None and v < low:
                return False
        return True

    def _line_bytes(self, raw: bytes, out: list[Event]) -> None:
        if len(raw) > self.max_line:
            self.lines += 1
            self._finding("PROTO-line-length", f"line is {len(raw)} bytes, over the {self.max_line}-byte cap")
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.lines += 1
            self._finding("PROTO-utf8", f"byte {exc.start} is not valid UTF-8 ({exc.reason})")
            return
        self._line(line, out)

    # ── classification ───────────────────────────────────────────────────
    def _line(self, line: str, out: list[Event]) -> None:
        self.lines += 1
        if line[-1:] == "\r":
            line = line[:-1]
        first = line[:1]
        if first == "P" and line.startswith("PROGRESS"):
            event: Event | None = self._progress(line)
        elif first == "S" and line.startswith("STATS"):
            event = self._stats(line)
        elif first == "A" and line.startswith("ARTIFACT"):
            event = self._artifact(line)
        else:
            self.log_lines += 1
            return
        if event is not None:
            self._emit(event, out)

    def _emit(self, event: Event, out: list[Event]) -> None:
        self.events += 1
        if not self.keep_events:
            return
        out.append(event)
        if self.on_event is not None:
            self.on_event(event)

    @staticmethod
    def _split(line: str, keyword: str) -> tuple[str, str]:
        """``(form, payload)`` of a line that starts with ``keyword``.

        form is ``log`` for a longer word (``PROGRESSIVE``), ``ok`` for the
        keyword and one space, ``bare`` for the keyword alone and ``space``
        for the keyword followed by other whitespace; the last two are
        malformed protocol lines.
        """
        rest = line[len(keyword) :]
        if not rest:
            return "bare", ""
        if rest[0] == " ":
            return "ok", rest[1:]
        if rest[0].isspace():
            return "space", rest
        return "log", rest

    def _malformed(self, keyword: str, form: str, why: str) -> None:
        if form == "bare":
            why = f"{keyword} without a payload"
        elif form == "space":
            why = f"{keyword} must be followed by exactly one space"
        self._finding("PROTO-grammar", why)

    def _progress(self, line: str) -> Event | None:
        form, payload = self._split(line, "PROGRESS")
        if form == "log":
            self.log_lines += 1
            return None
        parts = payload.split(" ")
        if form != "ok" or len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
            self._malformed("PROGRESS", form, "PROGRESS needs two non-negative integers: PROGRESS <current> <total>")
            return None
        return self._on_progress(parts[0], parts[1])

    def _on_progress(self, cur_s: str, tot_s: str) -> Progress | None:
        """A grammatical PROGRESS line (ASCII digit strings): range, phase and monotonicity."""
        # A PROGRESS line opens a tick even when its numbers are out of range.
        self._tick = 1
        if len(cur_s) > _MAX_DIGITS or len(tot_s) > _MAX_DIGITS:
            self._finding("PROTO-progress-range", "PROGRESS value does not fit in 64 bits")
            return None
        current, total = int(cur_s), int(tot_s)
        if total == 0 or current > total:
            self._finding("PROTO-progress-range", f"PROGRESS {current} {total}: need total > 0 and current <= total")
            return None
        last = self.last_progress
        if last is None or last.total != total:
            if last is not None and last.current != last.total:
                self._finding(
                    "PROTO-phase-complete",
                    f"phase {last.phase} ended at {last.current}/{last.total} (line {last.line})",
                )
            self._phase += 1
        elif current < last.current:
            self._finding("PROTO-progress-monotonic", f"progress went from {last.current} to {current} of {total}")
        event = Progress(self.lines, current, total, self._phase)
        self.last_progress = event
        return event

    def _stats(self, line: str) -> Event | None:
        form, payload = self._split(line, "STATS")
        if form == "log":
            self.log_lines += 1
            return None
        if form != "ok":
            self._malformed("STATS", form, "")
            return None
        return self._on_stats(payload)

    def _on_stats(self, payload: str) -> Stats | None:
        """A STATS payload: tick order, JSON, object, finite numbers, reserved key types."""
        if self._tick == 0:
            self._finding("PROTO-tick-order", "STATS before the first PROGRESS")
        elif self._tick == 2:
            self._finding("PROTO-tick-order", "STATS after an ARTIFACT line of the same tick")
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            value = self._stats_fallback(payload)
            if value is _INVALID:
                return None
        if type(value) is not dict:
            self._finding("PROTO-stats-object", f"STATS payload is a JSON {_json_type(value)}, not an object")
            return None
        if not self._reserved_ok(value):
            self._stats_schema_finding(value)
        return Stats(self.lines, value)

    def _stats_fallback(self, payload: str) -> Any:
        """orjson refused: tell non-finite numbers from invalid JSON (or accept what json allows)."""
        try:
            value = json.loads(payload, parse_constant=_reject_constant)
        except _NonFinite as exc:
            self._finding("PROTO-stats-finite", f"STATS holds {exc}, which is not a finite JSON number")
            return _INVALID
        except (ValueError, RecursionError) as exc:
            self._finding("PROTO-stats-json", f"STATS payload is not JSON: {_short(str(exc))}")
            return _INVALID
        if _has_non_finite(value):
            self._finding("PROTO-stats-finite", "STATS holds a number too large to be finite")
            return _INVALID
        return value

    def _stats_schema_finding(self, value: dict[str, Any]) -> None:
        from harness.schemas import schema_errors

        reserved = {k: value[k] for k in self._reserved if k in value}
        errors = schema_errors("stats/1", reserved)
        self._finding("PROTO-stats-schema", "; ".join(errors) or "reserved STATS key has the wrong type")

    def _artifact(self, line: str) -> Event | None:
        form, payload = self._split(line, "ARTIFACT")
        if form == "log":
            self.log_lines += 1
            return None
        if form != "ok" or not payload.strip():
            self._malformed("ARTIFACT", form, "ARTIFACT needs a path")
            return None
        if self._tick == 0:
            self._finding("PROTO-tick-order", "ARTIFACT before the first PROGRESS")
        self._tick = 2
        return Artifact(self.lines, payload)

    def _finding(self, rule_id: str, message: str) -> None:
        self.findings.append(Finding(rule_id, self.lines, message))

    # ── judgement ────────────────────────────────────────────────────────
    def results(self, *, success: bool = True, location: str = "stdout") -> list[Result]:
        """One result per protocol rule (pass, fail per finding, or skip).

        ``success``: judge the stream as a finished successful run, so the
        final phase must be complete.
        """
        self.close()
        checklist = Checklist("protocol", location)
        for f in self.findings:
            checklist.fail(f.rule_id, f.message, f"{location}:{f.line}")
        last = self.last_progress
        if success:
            if last is None:
                checklist.fail("PROTO-progress-complete", "no PROGRESS line was printed", location)
            elif last.current != last.total:
                checklist.fail(
                    "PROTO-progress-complete",
                    f"last phase ended at {last.current}/{last.total}",
                    f"{location}:{last.line}",
                )
        else:
            checklist.skip("PROTO-progress-complete", "the run is not judged as finished")
        checklist.checked(*(r.id for r in _protocol_rules() if r.id != "PROTO-progress-complete" or success))
        return checklist.results()


@cache
def _protocol_rules() -> tuple[Any, ...]:
    from harness.catalogue import for_scope

    return for_scope("protocol")


_INVALID = object()


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_bytes(data: bytes, max_line: int = DEFAULT_MAX_LINE) -> tuple[list[Event], ProtocolParser]:
    """Parse a whole byte string (tests and small logs)."""
    parser = ProtocolParser(max_line)
    events = parser.feed(data)
    events += parser.close()
    return events, parser
