"""Turning results into what a person or a program reads: text lines, JSON, Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from harness.catalogue import rule, rules
from harness.results import Result, first_fail, verdict


def summary(results: Sequence[Result]) -> dict[str, Any]:
    """``{verdict, first_fail, results}`` — the JSON every verifier command prints."""
    ff = first_fail(results)
    return {
        "verdict": verdict(results),
        "first_fail": ff.to_dict() if ff else None,
        "results": [r.to_dict() for r in results],
    }


def write_json(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def counts(results: Sequence[Result]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
    for r in results:
        out[r.status] += 1
    return out


def _remediation(result: Result) -> str:
    try:
        return rule(result.id).remediation
    except KeyError:
        return ""


def write_text(results: Sequence[Result], out: TextIO, *, verbose: bool = False, title: str = "") -> None:
    """One line per finding (id, code, location, message), its remediation below, a verdict line last."""
    for r in results:
        if r.status == "pass" and not verbose:
            continue
        label = r.status.upper() if r.status != "fail" else ("FAIL" if r.severity == "hard" else "WARN")
        where = f" {r.location}" if r.location else ""
        out.write(f"{label:<5} {r.id} [{r.code}]{where}: {_one_line(r.message)}\n")
        if r.status in ("fail", "error"):
            out.write(f"      fix: {_remediation(r)}\n")
    c = counts(results)
    ff = first_fail(results)
    tail = f"; first fail {ff.id} [{ff.code}]" if ff else ""
    head = f"{title}: " if title else ""
    out.write(
        f"{head}{verdict(results)} — {c['pass']} passed, {c['fail']} failed, "
        f"{c['skip']} skipped, {c['error']} errors{tail}\n"
    )


def _one_line(text: str, limit: int = 500) -> str:
    """Findings quote lane output: keep each on one line, printable, bounded."""
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text.replace("\n", "\\n"))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def rules_markdown() -> str:
    """docs/rules.md, generated from the catalogue."""
    lines = [
        "# Rule catalogue",
        "",
        "Generated from `contracts/rules.toml` by `voicelane rules --format md`; do not edit by hand.",
        "",
    ]
    scope = None
    for r in rules():
        if r.scope != scope:
            scope = r.scope
            lines += [f"## {scope}", "", "| id | code | severity | checks | remediation |", "|---|---|---|---|---|"]
        cell = [r.id, f"`{r.code}`", r.severity, r.description, r.remediation]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cell) + " |")
        nxt = rules().index(r) + 1
        if nxt == len(rules()) or rules()[nxt].scope != scope:
            lines.append("")
    return "\n".join(lines)
