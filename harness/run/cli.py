"""``voicelane run``: arguments to ``run_lane``, the result to stdout, the exit code.

Only the final result goes to stdout (text or the JSON of ``result.json``);
live progress goes to stderr. After ``result.json`` is written, the
certificate step (``harness.certify``), when installed, may override the
exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

from harness.cli import UsageError
from harness.render import write_json, write_text
from harness.results import EXIT_CODES, Result
from harness.run.lane import RunDirError, RunOptions, run_lane
from harness.run.spec import SpecError, load_spec


def run_command(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    if args.update_snapshots and not args.snapshot_dir:
        raise UsageError("--update-snapshots needs --snapshot-dir")
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    options = RunOptions(
        out=Path(args.out) if args.out else None,
        repeat=args.repeat,
        snapshot_dir=Path(args.snapshot_dir) if args.snapshot_dir else None,
        update_snapshots=args.update_snapshots,
    )
    try:
        doc, run_dir = run_lane(spec, options)
    except RunDirError as exc:
        raise UsageError(str(exc)) from None
    code = EXIT_CODES[doc["verdict"]]
    if importlib.util.find_spec("harness.certify") is not None:
        certify = importlib.import_module("harness.certify")
        override = certify.certify_run(run_dir, Path(args.ledger) if args.ledger else None, args.note)
        if override is not None:
            code = int(override)
    if args.format == "json":
        write_json(doc, sys.stdout)
    else:
        results = [Result.from_dict(r) for r in doc["results"]]
        write_text(results, sys.stdout, verbose=args.verbose, title=f"lane {spec.name}")
        sys.stdout.write(f"run folder: {run_dir}\n")
    from harness.ci import run_outputs

    run_outputs(doc, getattr(args, "junit", None), args.format)
    return code
