"""GitHub Actions output: the verdict as a step summary, failed hard rules as ``::error`` annotations.

Active only when ``GITHUB_ACTIONS=true`` (the runner sets it), so local runs
and other CI systems see nothing extra. The summary is Markdown appended to
the file named by ``GITHUB_STEP_SUMMARY``; annotations are workflow commands
printed on the step's output.

Workflow-command escaping (as ``@actions/core`` does it): in the message,
``%`` ``\\r`` ``\\n`` become ``%25`` ``%0D`` ``%0A``; in property values
``:`` and ``,`` also become ``%3A`` and ``%2C``, so a lane-written message
can neither end the command early nor inject a second one. Text a lane
wrote is Markdown-escaped before it goes into the summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TextIO

from harness.cases import Case, group
from harness.report.escape import flat, md

MAX_ANNOTATION = 4000


def enabled(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    """``::name k=v,k=v::message`` with every part escaped."""
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_ANNOTATION else text[: MAX_ANNOTATION - 3] + "..."


def run_annotations(doc: Mapping[str, Any]) -> list[str]:
    """One ``::error`` per failed hard rule of a ``result.json``."""
    return [
        command("error", _bounded(f"[{c.code}] {c.details()}"), title=c.id)
        for c in group(doc.get("results") or [])
        if c.blocking
    ]


def report_annotations(report: Mapping[str, Any]) -> list[str]:
    """One ``::error`` per blocker of a readiness decision."""
    out = []
    for b in report["decision"]["blockers"]:
        where = ", ".join(
            p for p in (f"run {b['runId']}" if b.get("runId") is not None else "", b.get("lane") or "") if p
        )
        text = f"[{b['code']}] {b['kind']}{f' ({where})' if where else ''}: {b['message']}"
        if b.get("remediation"):
            text += f"\nfix: {b['remediation']}"
        out.append(command("error", _bounded(text), title=str(b["id"])))
    return out


def _cell(text: object) -> str:
    return md(flat(text, 300))


def _code(text: object) -> str:
    """A code span: backslash escapes do not work inside one, so backticks and pipes are replaced instead."""
    return "`" + flat(text, 100).replace("`", "'").replace("|", "/") + "`"


def _case_rows(cases: list[Case]) -> list[str]:
    rows = ["| rule | code | outcome | finding | fix |", "|---|---|---|---|---|"]
    for c in cases:
        outcome = {"fail": "**FAIL**", "warn": "warn (soft)", "error": "**ERROR**"}[c.outcome]
        rows.append(f"| {_cell(c.id)} | {_code(c.code)} | {outcome} | {_cell(c.message)} | {_cell(c.remediation)} |")
    return rows


def run_summary(doc: Mapping[str, Any]) -> str:
    """The run's verdict block as Markdown."""
    run = doc.get("run") or {}
    cases = group(doc.get("results") or [])
    counts = {k: sum(1 for c in cases if c.outcome == k) for k in ("pass", "fail", "warn", "error", "skip")}
    ff = doc.get("first_fail")
    lines = [
        f"### voicelane run: {_cell(run.get('lane') or 'lane')} — {doc.get('verdict')}",
        "",
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
        f"{counts['skip']} skipped, {counts['error']} errors"
        + (f"; first fail **{_cell(ff.get('id'))}** {_code(ff.get('code'))}" if isinstance(ff, dict) else ""),
        "",
    ]
    shown = [c for c in cases if c.outcome in ("fail", "warn", "error")]
    if shown:
        lines += [*_case_rows(shown), ""]
    skipped = [c.id for c in cases if c.outcome == "skip"]
    if skipped:
        lines += ["Skipped: " + ", ".join(_cell(s) for s in skipped), ""]
    if run.get("run_dir"):
        lines += [f"Run folder: {_cell(run['run_dir'])}", ""]
    return "\n".join(lines) + "\n"


def report_summary(report: Mapping[str, Any], certificate: str = "") -> str:
    """The readiness GO / NO-GO block as Markdown (blockers, waived findings, certificate)."""
    d = report["decision"]
    lines = [f"### voicelane report: {d['verdict']}", ""]
    if d["blockers"]:
        lines += [
            f"**{d['verdict']}** — {len(d['blockers'])} blocker(s)",
            "",
            "| run | lane | kind | rule | code | message | fix |",
            "|---|---|---|---|---|---|---|",
        ]
        for b in d["blockers"]:
            run = "" if b.get("runId") is None else str(b["runId"])
            lines.append(
                f"| {run} | {_cell(b.get('lane') or '—')} | {_cell(b['kind'])} | {_cell(b['id'])} "
                f"| {_code(b['code'])} | {_cell(b['message'])} | {_cell(b.get('remediation') or '')} |"
            )
        lines.append("")
    else:
        lines += [f"**{d['verdict']}** — no blockers", ""]
    if d["waived"]:
        lines += ["Waived (not blocking):", ""]
        for w in d["waived"]:
            lines.append(
                f"- run {w['runId']} {_cell(w['id'])} {_code(w['code'])} waived by {_cell(w['owner'])} "
                f"until {_cell(w['expires'])}: {_cell(w['reason'])}"
            )
        lines.append("")
    if certificate:
        lines += ["```text", flat_block(certificate), "```", ""]
    return "\n".join(lines) + "\n"


def flat_block(text: str) -> str:
    """Lines of a fenced block: no line may close the fence."""
    return "\n".join(flat(line).replace("```", "'''") for line in text.rstrip("\n").splitlines())


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when it is set; True when written."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as f:
        f.write(markdown)
    return True


def publish_run(doc: Mapping[str, Any], stream: TextIO, env: Mapping[str, str] | None = None) -> None:
    """``voicelane run`` on GitHub Actions: summary and annotations (no-op elsewhere)."""
    if not enabled(env):
        return
    append_summary(run_summary(doc), env)
    for line in run_annotations(doc):
        stream.write(line + "\n")


def publish_report(
    report: Mapping[str, Any], stream: TextIO, certificate: str = "", env: Mapping[str, str] | None = None
) -> None:
    """``voicelane report`` on GitHub Actions: summary and annotations (no-op elsewhere)."""
    if not enabled(env):
        return
    append_summary(report_summary(report, certificate), env)
    for line in report_annotations(report):
        stream.write(line + "\n")
