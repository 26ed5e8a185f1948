"""Verify a 1M-line protocol log vs a naive loop (regex match + json.loads of every STATS).

Goal (issue 4): ratio <= 0.8. Both read the same bytes from the same file;
the candidate also checks every rule, the baseline only parses.

    python benchmarks/bench_protocol_log.py [--lines 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from _common import compare

from harness.verify import verify_log

LINE = re.compile(rb"^(PROGRESS|STATS|ARTIFACT) (.*)$")


def make_log(path: Path, lines: int) -> None:
    """A trainer-like mix: per tick one PROGRESS, one STATS and one log line."""
    ticks = lines // 3
    with path.open("wb") as f:
        for step in range(1, ticks + 1):
            f.write(f"PROGRESS {step} {ticks}\n".encode())
            stats = {
                "step": step,
                "loss": round(1.0 / step, 6),
                "lr": 0.001,
                "elapsed_s": step * 0.01,
                "phase": "train",
            }
            f.write(b"STATS " + json.dumps(stats).encode() + b"\n")
            f.write(f"step {step}: batch of 16 utterances, grad norm 0.93\n".encode())


def naive(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        for raw in f:
            m = LINE.match(raw.rstrip(b"\n"))
            if m and m.group(1) == b"STATS":
                json.loads(m.group(2))
            count += 1
    return count


def candidate(path: Path) -> None:
    results = verify_log(path)
    assert all(r.status == "pass" for r in results), [r for r in results if r.status != "pass"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = Path(tmp) / "stdout.log"
        make_log(path, args.lines)
        compare(
            f"verify log, {args.lines} lines",
            lambda: candidate(path),
            lambda: naive(path),
            rounds=args.rounds,
            goal=0.8,
        )


if __name__ == "__main__":
    main()
