"""The lane protocol on stdout: PROGRESS / STATS / ARTIFACT lines, in ticks.

A tick is one ``PROGRESS current total`` line, then STATS lines, then ARTIFACT
lines. A change of ``total`` starts a new phase, so the trainer plans its
phase totals up front (:func:`plan_totals`) to make consecutive phases differ,
and every phase ends with ``current == total`` (:meth:`Phase.finish`).
Every line is flushed at once so a live progress bar sees it.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

KEYWORDS = ("PROGRESS ", "STATS ", "ARTIFACT ")
FLOAT_DIGITS = 6


def clean(value: Any) -> Any:
    """Round floats to fixed digits and refuse NaN/Infinity, recursively.

    Rounding keeps transcripts short; refusing non-finite numbers keeps them
    valid JSON (the contract has no NaN).
    """
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number in protocol payload: {value!r}")
        return round(value, FLOAT_DIGITS)
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item"):  # numpy / torch scalars
        return clean(value.item())
    raise TypeError(f"cannot put {type(value).__name__} in a protocol payload")


def dumps(obj: Any) -> str:
    """Canonical one-line JSON: sorted keys, no NaN, no spaces."""
    return json.dumps(clean(obj), sort_keys=True, allow_nan=False, separators=(",", ":"))


class Protocol:
    """Writes protocol lines and remembers what was announced."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.started = clock()
        self.last_progress: tuple[int, int] | None = None
        self.announced: list[str] = []
        self._tick_has_artifact = False

    def elapsed(self) -> float:
        return round(self.clock() - self.started, 3)

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def log(self, message: str) -> None:
        """A plain log line; never mistaken for a protocol keyword."""
        for line in str(message).splitlines() or [""]:
            if line.startswith(KEYWORDS):
                line = "# " + line
            self._emit(line)

    def tick(
        self,
        current: int,
        total: int,
        stats: Mapping[str, Any] | None = None,
        artifacts: Iterable[str] = (),
    ) -> None:
        """One well-ordered tick: PROGRESS, optional STATS, optional ARTIFACTs."""
        if not (total > 0 and 0 <= current <= total):
            raise ValueError(f"bad progress {current}/{total}")
        payload = dumps(stats) if stats else None  # fail before writing half a tick
        self._emit(f"PROGRESS {current} {total}")
        self.last_progress = (current, total)
        if payload is not None:
            self._emit("STATS " + payload)
        for path in artifacts:
            self._emit(f"ARTIFACT {path}")
            if path not in self.announced:
                self.announced.append(path)

    def announce_late(self, artifacts: Iterable[str]) -> bool:
        """Announce files after a failure: repeat the last PROGRESS, then ARTIFACTs.

        Returns False when nothing can be announced (no PROGRESS yet).
        """
        if self.last_progress is None:
            return False
        self.tick(*self.last_progress, artifacts=artifacts)
        return True


class Phase:
    """A phase of ``total`` ticks; ``finish`` guarantees it ends at ``total``."""

    def __init__(self, proto: Protocol, name: str, total: int) -> None:
        self.proto, self.name, self.total, self.current = proto, name, total, 0

    def tick(
        self,
        current: int | None = None,
        stats: Mapping[str, Any] | None = None,
        artifacts: Iterable[str] = (),
    ) -> None:
        current = self.current + 1 if current is None else current
        if current < self.current or current > self.total:
            raise ValueError(f"phase {self.name}: progress {current} after {self.current}")
        self.current = current
        payload = {"phase": self.name, "elapsed_s": self.proto.elapsed(), **(stats or {})}
        self.proto.tick(current, self.total, payload, artifacts)

    def finish(self, stats: Mapping[str, Any] | None = None, artifacts: Iterable[str] = ()) -> None:
        """Last tick of the phase, at ``current == total``."""
        self.tick(self.total, stats, artifacts)


def plan_totals(bases: list[int], fixed: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Phase totals with no two consecutive phases equal.

    A repeated total would merge two phases into one whose progress goes
    backwards. Phases whose index is in ``fixed`` (the train phase: its total
    is the step count) keep their total; the others grow by one (an extra,
    cheap tick) until they differ from both neighbours.
    """
    totals = [max(1, b) for b in bases]
    for i in range(len(totals)):
        if i in fixed:
            continue
        while (i > 0 and totals[i] == totals[i - 1]) or (i + 1 < len(totals) and totals[i] == totals[i + 1]):
            totals[i] += 1
    for a, b in itertools.pairwise(totals):
        if a == b:
            raise AssertionError(f"consecutive phases share a total: {totals}")
    return totals
