"""`voicelane run` on a lane that prints 1M protocol lines vs the same lane with stdout to /dev/null.

Goal (issue 5): ratio <= 1.5. The candidate reads both pipes live, parses
and checks every line, writes events.jsonl, the capped logs and result.json;
the baseline is the bare lane. Both start a fresh interpreter per round and
alternate in one process tree (see ``_common.compare``).

    python benchmarks/bench_run_protocol.py [--lines 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import tempfile
from pathlib import Path

from _common import PY, compare

LANE = """\
import json, os, sys
total = int(os.environ["BENCH_LINES"]) // 3
write = sys.stdout.buffer.write
batch = []
for step in range(1, total + 1):
    batch.append(f"PROGRESS {step} {total}\\n")
    stats = '{"step": %d, "loss": %.6f, "lr": 0.001, "elapsed_s": %.2f}' % (step, 1.0 / step, step * 0.01)
    batch.append(f"STATS {stats}\\n")
    batch.append(f"step {step} done\\n")
    if len(batch) >= 30000:
        write("".join(batch).encode())
        batch.clear()
write("".join(batch).encode())
"""

SPEC = """\
name = "bench-protocol"
kind = "command"
command = ["{py}", "lane.py"]
timeout_s = 600
stall_timeout_s = 120
[env]
BENCH_LINES = "{lines}"
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        (root / "lane.py").write_text(LANE)
        (root / "lane.toml").write_text(SPEC.format(py=PY, lines=args.lines))
        counter = itertools.count()
        env = {**os.environ, "BENCH_LINES": str(args.lines), "VOICELANE_OUT": str(root / "bare-out")}
        (root / "bare-out").mkdir()

        def candidate() -> None:
            out = root / f"run-{next(counter)}"
            argv = [PY, "-m", "harness", "run", str(root / "lane.toml"), "--out", str(out), "--format", "json"]
            argv += ["--ledger", str(root / "ledger.jsonl")]
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            assert done.returncode == 0, f"voicelane run exited {done.returncode}; see {out}"

        def baseline() -> None:
            subprocess.run([PY, "lane.py"], cwd=root, env=env, stdout=subprocess.DEVNULL, check=True)

        compare(
            f"voicelane run, {args.lines} protocol lines vs stdout to /dev/null",
            candidate,
            baseline,
            rounds=args.rounds,
            goal=1.5,
        )


if __name__ == "__main__":
    main()
