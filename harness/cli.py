"""The ``voicelane`` command.

Only argparse is imported at start-up: every sub-command imports what it
needs when it runs, so ``voicelane --help`` answers at once.

Exit codes: 0 pass / GO, 1 a hard rule failed / NO-GO, 2 usage or
configuration error, 3 the harness itself could not evaluate.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

EXIT_USAGE = 2
EXIT_HARNESS = 3


class UsageError(Exception):
    """Bad arguments or configuration: exit 2 with the message."""


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list the rules that passed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicelane",
        description="Run voice-training lanes and verify what they print and write against the voicelane contracts.",
        epilog="Exit codes: 0 pass/GO, 1 fail/NO-GO, 2 usage error, 3 the harness could not evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"voicelane {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    verify = sub.add_parser("verify", help="verify one bundle, status file, dataset manifest or protocol log")
    vsub = verify.add_subparsers(dest="what", metavar="WHAT", required=True)
    p = vsub.add_parser("bundle", help="a voice_bundle/1 folder")
    p.add_argument("path", metavar="DIR")
    _add_format(p)
    p = vsub.add_parser("status", help="a train_status/1 document")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--root", metavar="DIR", help="where listed artifacts resolve (default: the file's folder)")
    _add_format(p)
    p = vsub.add_parser("dataset", help="a dataset_manifest/1 document or NeMo-style JSONL")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--root", metavar="DIR", help="where audio paths resolve (default: the manifest's folder)")
    _add_format(p)
    p = vsub.add_parser("log", help="a lane's stdout: protocol lines and log lines ('-' reads stdin)")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--allow-incomplete", action="store_true", help="do not require the last phase to be complete")
    p.add_argument("--max-line", type=int, default=64 * 1024, metavar="BYTES", help="line length cap")
    _add_format(p)

    p = sub.add_parser("rules", help="list the rule catalogue")
    p.add_argument("--format", choices=("text", "md", "json"), default="text")

    p = sub.add_parser("run", help="run a lane from its spec and judge everything it printed and wrote")
    p.add_argument("spec", metavar="SPEC", help="lane spec (TOML), e.g. lanes/reference.toml")
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/<lane>-<UTC time>); must be empty")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="run N times and compare (determinism)")
    p.add_argument("--snapshot-dir", metavar="DIR", help="compare a normalized snapshot of the run with DIR")
    p.add_argument("--update-snapshots", action="store_true", help="rewrite the snapshot instead of comparing")
    p.add_argument("--ledger", metavar="FILE", help="append the run to this ledger (when certificates are enabled)")
    p.add_argument("--note", metavar="TEXT", help="a note recorded with the run in the ledger")
    p.add_argument("--junit", metavar="FILE", help="also write the rule results as JUnit XML to FILE")
    _add_format(p)
    _add_certificate_parsers(sub)
    return parser


def _version() -> str:
    from harness import __version__

    return __version__


def cmd_verify(args: argparse.Namespace) -> int:
    from harness import verify

    if args.what == "bundle":
        results = verify.verify_bundle(args.path)
    elif args.what == "status":
        results = verify.verify_status(args.path, args.root)
    elif args.what == "dataset":
        results = verify.verify_dataset(args.path, args.root)
    else:
        if args.max_line < 1:
            raise UsageError("--max-line must be positive")
        if args.path == "-":
            results = verify.verify_log(
                sys.stdin.buffer, allow_incomplete=args.allow_incomplete, max_line=args.max_line
            )
        else:
            if not os.path.isfile(args.path):
                raise UsageError(f"{args.path}: no such file")
            results = verify.verify_log(args.path, allow_incomplete=args.allow_incomplete, max_line=args.max_line)
    return emit(results, args.format, verbose=args.verbose, title=f"{args.what} {args.path}")


def emit(results: Sequence[object], fmt: str, *, verbose: bool = False, title: str = "") -> int:
    from harness import render
    from harness.results import EXIT_CODES, Result, verdict

    typed = [r for r in results if isinstance(r, Result)]
    if fmt == "json":
        render.write_json(render.summary(typed), sys.stdout)
    else:
        render.write_text(typed, sys.stdout, verbose=verbose, title=title)
    return EXIT_CODES[verdict(typed)]


def cmd_rules(args: argparse.Namespace) -> int:
    from harness import render
    from harness.catalogue import rules

    if args.format == "md":
        sys.stdout.write(render.rules_markdown())
    elif args.format == "json":
        render.write_json([_rule_dict(r) for r in rules()], sys.stdout)
    else:
        for r in rules():
            sys.stdout.write(f"{r.id:<28} {r.code:<28} {r.severity:<4}  {r.description}\n")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run.cli import run_command

    return run_command(args)


def _rule_dict(r: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    return asdict(r) if is_dataclass(r) and not isinstance(r, type) else {}


def _add_certificate_parsers(sub: argparse._SubParsersAction) -> None:
    """verify-certificate, ledger and report (issue 7)."""
    p = sub.add_parser("verify-certificate", help="re-check a run's certificate against the files on disk")
    p.add_argument("path", metavar="PATH", help="a run folder or its certificate.json")
    p.add_argument("--ledger", metavar="FILE", help="also compare with this ledger's entry for the run")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p = sub.add_parser("ledger", help="render the execution ledger as an ordered table")
    p.add_argument("--ledger", metavar="FILE", help="ledger file (default: $VOICELANE_LEDGER or reports/ledger.jsonl)")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p = sub.add_parser("report", help="write readiness.md/.json/.html and decide GO / NO-GO")
    p.add_argument("--ledger", metavar="FILE", help="ledger file (default: $VOICELANE_LEDGER or reports/ledger.jsonl)")
    p.add_argument("--runs", nargs="+", type=int, metavar="RUNID", help="gate these runs (default: latest per lane)")
    p.add_argument("--waivers", metavar="FILE", help="waivers.toml (default: the waivers each run was certified with)")
    p.add_argument("--out", metavar="DIR", default="reports", help="where the report files go (default: reports)")
    p.add_argument("--junit", metavar="FILE", help="also write the decision and the gated runs as JUnit XML")


def cmd_verify_certificate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.certify import verify

    if not os.path.exists(args.path):
        raise UsageError(f"{args.path}: no such run folder or certificate")
    check = verify(args.path, ledger=Path(args.ledger) if args.ledger else None)
    if args.format == "json":
        from harness import render

        render.write_json(check.to_dict(), sys.stdout)
    else:
        sys.stdout.write(f"integrityOk: {'true' if check.integrity_ok else 'false'}\n")
        sys.stdout.write(f"certificateHash: {check.certificate_hash}\n")
        for d in check.differences:
            sys.stdout.write(f"differs: {d}\n")
    return 0 if check.integrity_ok else 1


def cmd_ledger(args: argparse.Namespace) -> int:
    from harness.ledger import ledger_path, read_ledger, render_markdown

    path = ledger_path(args.ledger)
    if not path.is_file():
        raise UsageError(f"{path}: no ledger (run a lane first, or pass --ledger FILE)")
    read = read_ledger(path)
    if args.format == "json":
        from harness import render

        render.write_json({"ledger": str(path), "entries": read.entries, "problems": read.problems}, sys.stdout)
    else:
        sys.stdout.write(render_markdown(read))
    for problem in read.problems:
        print(f"voicelane: ledger {path}: {problem}", file=sys.stderr)
    return 0 if read.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.certify import certificate_block
    from harness.ledger import ledger_path
    from harness.report.build import make_report
    from harness.report.gate import GateError
    from harness.report.markdown import decision_block
    from harness.waivers import WaiverError, load_waivers

    path = ledger_path(args.ledger)
    if not path.is_file():
        raise UsageError(f"{path}: no ledger (run a lane first, or pass --ledger FILE)")
    try:
        waivers = load_waivers(args.waivers) if args.waivers else None
        report = make_report(path, Path(args.out), args.runs, waivers)
    except (WaiverError, GateError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(decision_block(report.doc))
    cert = certificate_block(report.doc["certificate"]) if report.doc["certificate"] else ""
    sys.stdout.write(cert)
    from harness.ci import report_outputs

    report_outputs(report.doc, args.junit, cert)
    for kind, p in report.paths.items():
        print(f"wrote {kind}: {p}", file=sys.stderr)
    return 0 if report.go else 1


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "verify": cmd_verify,
    "rules": cmd_rules,
    "run": cmd_run,
    "verify-certificate": cmd_verify_certificate,
    "ledger": cmd_ledger,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"voicelane: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voicelane: interrupted", file=sys.stderr)
        return EXIT_HARNESS
    except BrokenPipeError:
        return EXIT_HARNESS
    except Exception as exc:  # the harness itself failed: say so in one line, never a traceback
        if os.environ.get("VOICELANE_DEBUG"):
            raise
        print(
            f"voicelane: internal error: {type(exc).__name__}: {exc} (set VOICELANE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_HARNESS
