"""Shared benchmark plumbing: run candidate and baseline alternately, report the median ratio.

Alternating the two (A B A B …) in one process tree lets machine noise hit
both alike; the ratio candidate/baseline is what we track, not seconds.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_cmd(argv: Sequence[str], **kwargs: object) -> Callable[[], object]:
    return lambda: subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def compare(
    name: str, candidate: Callable[[], object], baseline: Callable[[], object], *, rounds: int, goal: float
) -> float:
    candidate(), baseline()  # warm the page cache and imports for both
    cand, base = [], []
    for _ in range(rounds):
        cand.append(timed(candidate))
        base.append(timed(baseline))
    c, b = statistics.median(cand), statistics.median(base)
    ratio = c / b
    verdict = "ok" if ratio <= goal else "OVER GOAL"
    print(f"{name}: candidate {c:.3f}s  baseline {b:.3f}s  ratio {ratio:.2f}  (goal <= {goal})  {verdict}", flush=True)
    return ratio


def child_peak_rss_mb(argv: Sequence[str]) -> float:
    """Peak RSS of a child process (the verifier run alone, in a fresh interpreter)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


PY = sys.executable
