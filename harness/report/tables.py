"""The run table and the artifact table, once, for every output format.

Markdown and HTML differ only in how a cell is escaped and marked, so each
format passes a ``CellStyle`` and the columns and cell logic live here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RUN_HEAD = ["runId", "lane", "commit", "verdict", "certificateHash", "integrityOk (re-checked)", "gated"]
ARTIFACT_HEAD = ["runId", "role", "path", "exists", "bytes", "sha256"]


@dataclass(frozen=True)
class CellStyle:
    text: Callable[[object], str]  # escape untrusted text
    code: Callable[[object], str]  # a digest in monospace
    bad: Callable[[str], str]  # mark a failing value


def _tri(value: Any, style: CellStyle) -> str:
    if value is None:
        return "—"
    return "true" if value else style.bad("false")


def run_rows(doc: dict[str, Any], style: CellStyle) -> list[list[str]]:
    return [
        [
            str(r["runId"]),
            style.text(r["lane"] or "—"),
            style.text((r["commit"] or "—")[:12]),
            style.text(r["verdict"]),
            style.code(r["certificateHash"]),
            _tri(r["integrityOk"], style),
            "yes" if r["gated"] else "",
        ]
        for r in doc["runs"]
    ]


def artifact_rows(doc: dict[str, Any], style: CellStyle) -> list[list[str]]:
    return [
        [
            str(a["runId"]),
            style.text(a["role"]),
            style.text(a["path"]),
            "yes" if a["exists"] else style.bad("no"),
            "" if a["bytes"] is None else str(a["bytes"]),
            style.code(a["sha256"]) if a["sha256"] else "",
        ]
        for a in doc["artifacts"]
    ]
