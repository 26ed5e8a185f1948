"""readiness.md: the four sections of the report, every lane-written value escaped."""

from __future__ import annotations

from typing import Any

from harness.certify import certificate_block
from harness.report.escape import flat, md
from harness.report.tables import ARTIFACT_HEAD, RUN_HEAD, CellStyle, artifact_rows, run_rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


STYLE = CellStyle(text=md, code=lambda v: f"`{v}`", bad=lambda v: f"**{v}**")


def decision_block(doc: dict[str, Any]) -> str:
    """The GO / NO-GO block as plain text (also printed to the terminal)."""
    d = doc["decision"]
    lines = [f"══ {d['verdict']} ══"]
    if d["blockers"]:
        lines.append(f"{len(d['blockers'])} blocker(s):")
        for b in d["blockers"]:
            run = f"run {b['runId']} " if b["runId"] is not None else ""
            lines.append(f"  ✗ {run}{b['id']} [{b['code']}] ({b['kind']}): {flat(b['message'], 300)}")
            if b["remediation"]:
                lines.append(f"      fix: {b['remediation']}")
    for w in d["waived"]:
        lines.append(f"  ~ run {w['runId']} {w['id']} [{w['code']}] waived by {flat(w['owner'])} until {w['expires']}")
    return "\n".join(lines) + "\n"


def render(doc: dict[str, Any]) -> str:
    out = [
        "# Readiness report",
        "",
        f"Generated {doc['generated_at']} by voicelane {doc['harness_version']} from ledger "
        f"{md(doc['ledger']['path'])} ({doc['ledger']['entries']} entries).",
        "",
        f"**Decision: {doc['decision']['verdict']}**",
        "",
        "## 1. Runs",
        "",
    ]
    out += _table(RUN_HEAD, run_rows(doc, STYLE))
    for p in doc["ledger"]["problems"]:
        out.append(f"\n**Ledger problem:** {md(p)}")
    out += ["", "## 2. Artifacts of the gated runs", ""]
    rows = artifact_rows(doc, STYLE)
    out += _table(ARTIFACT_HEAD, rows) if rows else ["(none)"]
    out += ["", f"## 3. {doc['decision']['verdict']}", ""]
    out += _findings(doc["decision"]["blockers"], "Blockers", waived=False)
    out += _findings(doc["decision"]["waived"], "Waived (not blocking)", waived=True)
    out += ["", "## 4. Certificate", ""]
    cert = doc["certificate"]
    out += ["```", (certificate_block(cert) if cert else "no gated run\n").rstrip("\n"), "```", ""]
    return "\n".join(out)


def _findings(items: list[dict[str, Any]], title: str, *, waived: bool) -> list[str]:
    if not items:
        return [f"{title}: none.", ""]
    head = ["#", "runId", "lane", "kind", "rule", "code", "message", "remediation"]
    if waived:
        head = [*head[:-1], "owner", "expires", "reason"]
    rows = []
    for i, f in enumerate(items, 1):
        row = [
            str(i),
            "" if f["runId"] is None else str(f["runId"]),
            md(f.get("lane") or "—"),
            f["kind"],
            md(f["id"]),
            md(f["code"]),
            md(f["message"]),
        ]
        row += [md(f["owner"]), md(f["expires"]), md(f["reason"])] if waived else [md(f["remediation"])]
        rows.append(row)
    return [f"**{title}** ({len(items)}):", "", *_table(head, rows), ""]
