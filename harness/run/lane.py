"""One ``voicelane run``: the run folder, the attempts, the judgement, ``result.json``.

Layout of the run folder (the certificate and ledger build on it)::

    DIR/out/            VOICELANE_OUT of attempt 1
    DIR/stdout.log      stderr.log   events.jsonl   result.json
    DIR/repeats/<k>/    attempt k of --repeat N (same layout, no result.json)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from harness.atomic import write_atomic
from harness.render import summary
from harness.results import Result, sort_results
from harness.run.adapters import adapter_for
from harness.run.checks import lane_results, verifier_results
from harness.run.determinism import check_determinism
from harness.run.live import live_view
from harness.run.runner import Attempt, execute
from harness.run.snapshots import check_snapshot
from harness.run.spec import LaneSpec

RESULT_FILE = "result.json"


class RunDirError(ValueError):
    """The run folder cannot be used (it exists and is not empty)."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    out: Path | None = None
    repeat: int = 1
    snapshot_dir: Path | None = None
    update_snapshots: bool = False
    progress: TextIO | None = None  # where live progress goes (default: stderr)


def make_run_dir(spec: LaneSpec, out: Path | None) -> Path:
    """``out`` when it is absent or empty; else ``runs/<lane>-<UTC stamp>`` under the cwd."""
    if out is not None:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunDirError(f"{out} exists and is not an empty folder; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        return out.resolve()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = Path("runs") / f"{spec.name}-{stamp}"
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate.resolve()
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def run_lane(spec: LaneSpec, options: RunOptions) -> tuple[dict[str, Any], Path]:
    """Run the lane ``options.repeat`` times, judge it, write ``result.json``; return it and the run folder."""
    run_dir = make_run_dir(spec, options.out)
    adapter = adapter_for(spec.kind)
    attempts: list[Attempt] = []
    for k in range(1, options.repeat + 1):
        attempt_dir = run_dir if k == 1 else run_dir / "repeats" / str(k)
        attempt_dir.mkdir(parents=True, exist_ok=True)
        label = spec.name if options.repeat == 1 else f"{spec.name} {k}/{options.repeat}"
        attempts.append(execute(spec, adapter, attempt_dir, k, live_view(label, options.progress)))
        if attempts[0].spawn_error is not None:
            break  # it will not start the next time either
    first = attempts[0]
    results = judge(spec, attempts, options)
    doc = summary(results)
    doc["run"] = run_record(spec, first, run_dir, options.repeat)
    write_json_atomic(run_dir / RESULT_FILE, doc)
    return doc, run_dir


def judge(spec: LaneSpec, attempts: list[Attempt], options: RunOptions) -> list[Result]:
    first = attempts[0]
    verified = verifier_results(spec, first)
    status_valid = any(r.id == "STATUS-schema" and r.status == "pass" for r in verified)
    determinism = check_determinism(spec, attempts)
    snapshot = check_snapshot(spec, first, options.snapshot_dir, options.update_snapshots)
    return sort_results(verified + lane_results(spec, first, determinism, snapshot, status_valid))


def run_record(spec: LaneSpec, a: Attempt, run_dir: Path, repeat: int) -> dict[str, Any]:
    return {
        "lane": spec.name,
        "kind": spec.kind,
        "spec": str(spec.path),
        "spec_sha256": spec.sha256,
        "argv": a.launch.argv if a.launch else list(spec.command),
        "image": spec.image,
        "workdir": str(spec.workdir),
        "env": dict(spec.env),
        "outputs": dict(spec.raw.get("outputs", {})),
        "exit_code": a.exit_code,
        "signal": a.signal,
        "timed_out": a.timed_out,
        "stalled": a.stalled,
        "duration_s": a.duration_s,
        "started_at": a.started_at,
        "finished_at": a.finished_at,
        "out_dir": str(a.out_dir),
        "run_dir": str(run_dir),
        "repeat": repeat,
    }


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write JSON to a temp file in the same folder, then rename: readers never see half a file."""
    import json

    write_atomic(path, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
