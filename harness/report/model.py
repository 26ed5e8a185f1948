"""The readiness/1 document: the one structure readiness.md, .json and .html are rendered from."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from harness.ledger import LedgerRead
from harness.report.artifacts import artifact_rows
from harness.report.gate import Decision, GatedRun
from harness.waivers import WaiverSet


def generated_at() -> str:
    """``SOURCE_DATE_EPOCH`` when set (reproducible reports), else now, as RFC 3339 UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit() else dt.datetime.now(dt.UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _run_row(entry: dict[str, Any], gated: dict[int, GatedRun]) -> dict[str, Any]:
    g = gated.get(entry["runId"])
    return {
        "runId": entry["runId"],
        "traceId": entry["traceId"],
        "lane": entry.get("lane"),
        "commit": entry.get("commit"),
        "verdict": entry["verdict"],
        "certificateHash": entry["certificateHash"],
        "integrityOk": (g.check.integrity_ok if g.check else False) if g else None,
        "gated": g is not None,
        "run_dir": entry.get("run_dir"),
    }


def certificate_values(g: GatedRun) -> dict[str, Any]:
    """The final certificate block of a gated run, with integrity as re-checked now."""
    return {
        "verdict": g.entry["verdict"],
        "firstFail": g.entry.get("firstFail"),
        "certificateHash": g.entry["certificateHash"],
        "integrityOk": bool(g.check and g.check.integrity_ok),
        "traceId": g.entry["traceId"],
        "runId": g.run_id,
    }


def build(
    ledger: Path, read: LedgerRead, gated: list[GatedRun], decision: Decision, waivers: WaiverSet | None
) -> dict[str, Any]:
    by_id = {g.run_id: g for g in gated}
    artifacts: list[dict[str, Any]] = []
    for g in gated:
        if g.run is not None:
            artifacts += artifact_rows(g.run_id, g.run)
    from harness import __version__

    return {
        "report": "readiness/1",
        "generated_at": generated_at(),
        "harness_version": __version__,
        "ledger": {"path": str(ledger), "entries": len(read.entries), "problems": list(read.problems)},
        "runs": [_run_row(e, by_id) for e in read.entries],
        "artifacts": artifacts,
        "decision": {"verdict": decision.verdict, "blockers": decision.blockers, "waived": decision.waived},
        "waivers": {
            "source": waivers.source if waivers else None,
            "sha256": waivers.sha256 if waivers else None,
            "entries": [w.to_dict() for w in waivers.waivers] if waivers else [],
        },
        "certificate": certificate_values(gated[-1]) if gated else None,
    }
