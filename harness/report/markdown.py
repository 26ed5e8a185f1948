"""readiness.md: the four sections of the report, every lane-written value escaped."""

from __future__ import annotations

from typing import Any

from harness.certify import certificate_block
from harness.report.escape import flat, md


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _tri(value: Any) -> str:
    return "—" if value is None else ("true" if value else "false")


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
    rows = [
        [
            str(r["runId"]),
            md(r["lane"] or "—"),
            md((r["commit"] or "—")[:12]),
            r["verdict"],
            f"`{r['certificateHash']}`",
            _tri(r["integrityOk"]),
            "yes" if r["gated"] else "",
        ]
        for r in doc["runs"]
    ]
    out += _table(["runId", "lane", "commit", "verdict", "certificateHash", "integrityOk (re-checked)", "gated"], rows)
    for p in doc["ledger"]["problems"]:
        out.append(f"\n**Ledger problem:** {md(p)}")
    out += ["", "## 2. Artifacts of the gated runs", ""]
    rows = [
        [
            str(a["runId"]),
            md(a["role"]),
            md(a["path"]),
            "yes" if a["exists"] else "**no**",
            "" if a["bytes"] is None else str(a["bytes"]),
            f"`{a['sha256']}`" if a["sha256"] else "",
        ]
        for a in doc["artifacts"]
    ]
    out += _table(["runId", "role", "path", "exists", "bytes", "sha256"], rows) if rows else ["(none)"]
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
