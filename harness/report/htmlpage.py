"""readiness.html: one self-contained page (inline CSS, embedded PNGs and audio, no scripts).

Every value that can come from a lane is passed through ``escape.html``;
pictures are base64 data produced by ``plots`` from our own rendering.
"""

from __future__ import annotations

from typing import Any

from harness.certify import certificate_block
from harness.report.escape import html as h
from harness.report.tables import ARTIFACT_HEAD, RUN_HEAD, CellStyle, artifact_rows, run_rows

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px;width:100%}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}
.verdict{font-size:40px;font-weight:700;padding:.3em .6em;border-radius:8px;display:inline-block}
.GO{background:#d4f8d4;color:#0a5d0a}.NO-GO{background:#fde0e0;color:#8b0000}
.bad{color:#b00;font-weight:600}
pre{background:#f6f8fa;padding:1em;border-radius:6px}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}
code{font-size:12px}
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{x}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


STYLE = CellStyle(text=h, code=lambda v: f"<code>{h(v)}</code>", bad=lambda v: f'<span class="bad">{v}</span>')


def render(doc: dict[str, Any], pictures: dict[int, dict[str, str | None]]) -> str:
    verdict = doc["decision"]["verdict"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>voicelane readiness: {verdict}</title><style>{CSS}</style></head><body>",
        "<h1>Readiness report</h1>",
        f"<p>Generated {h(doc['generated_at'])} by voicelane {h(doc['harness_version'])} "
        f"from ledger <code>{h(doc['ledger']['path'])}</code> ({doc['ledger']['entries']} entries).</p>",
        f'<div id="verdict" class="verdict {verdict}">{verdict}</div>',
        "<h2>1. Runs</h2>",
        _runs(doc),
        "<h2>2. Artifacts of the gated runs</h2>",
        _artifacts(doc),
        f"<h2>3. {verdict}</h2>",
        _findings(doc["decision"]["blockers"], "Blockers", waived=False),
        _findings(doc["decision"]["waived"], "Waived (not blocking)", waived=True),
        "<h2>4. Certificate</h2>",
        f'<pre id="certificate">{h_block(doc)}</pre>',
        _pictures(pictures),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def h_block(doc: dict[str, Any]) -> str:
    cert = doc["certificate"]
    text = certificate_block(cert) if cert else "no gated run\n"
    return "<br>".join(h(line) for line in text.rstrip("\n").split("\n"))


def _runs(doc: dict[str, Any]) -> str:
    problems = "".join(f'<p class="bad">Ledger problem: {h(p)}</p>' for p in doc["ledger"]["problems"])
    return _table(RUN_HEAD, run_rows(doc, STYLE)) + problems


def _artifacts(doc: dict[str, Any]) -> str:
    if not doc["artifacts"]:
        return "<p>(none)</p>"
    return _table(ARTIFACT_HEAD, artifact_rows(doc, STYLE))


def _findings(items: list[dict[str, Any]], title: str, *, waived: bool) -> str:
    if not items:
        return f"<p>{title}: none.</p>"
    head = ["#", "runId", "lane", "kind", "rule", "code", "message", "remediation"]
    if waived:
        head = [*head[:-1], "owner", "expires", "reason"]
    rows = []
    for i, f in enumerate(items, 1):
        row = [
            str(i),
            "" if f["runId"] is None else str(f["runId"]),
            h(f.get("lane") or "—"),
            h(f["kind"]),
            h(f["id"]),
            f"<code>{h(f['code'])}</code>",
            h(f["message"]),
        ]
        row += [h(f["owner"]), h(f["expires"]), h(f["reason"])] if waived else [h(f["remediation"])]
        rows.append(row)
    return f"<h3>{title} ({len(items)})</h3>" + _table(head, rows)


def _img(b64: str | None, alt: str, cls: str) -> str:
    if not b64:
        return f'<p class="bad">no {h(alt)} available</p>'
    return f'<img class="plot {cls}" alt="{h(alt)}" src="data:image/png;base64,{b64}">'


def _pictures(pictures: dict[int, dict[str, str | None]]) -> str:
    parts = []
    for run_id in sorted(pictures):
        p = pictures[run_id]
        parts.append(f"<h2>Run {run_id}: pictures</h2>")
        parts.append(_img(p.get("loss"), "loss curve", "loss"))
        parts.append(_img(p.get("waveform"), "waveform of sample.wav", "waveform"))
        parts.append(_img(p.get("spectrogram"), "spectrogram of sample.wav", "spectrogram"))
        audio = p.get("audio")
        if audio:
            parts.append(f'<p>sample.wav: <audio controls src="data:audio/wav;base64,{audio}"></audio></p>')
    return "\n".join(parts)
