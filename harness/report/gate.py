"""GO / NO-GO: which runs are gated, what blocks them, what is waived.

GO only when, on every gated run, every hard rule passed or is validly
waived, every mandatory rule has a pass (a skip or an error never reads as a
pass, and a missing result is an error), and the integrity re-check — made
now, from the disk — is true. Expired waivers do not apply and block by
themselves. Blockers are sorted by kind, run and catalogue order so the same
inputs always give the same report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.catalogue import order, rule, rules
from harness.certify import Verification, verify
from harness.waivers import Waiver, WaiverError, WaiverSet

LICENSE_RULE = "BUNDLE-license-commercial"

#: Blocker kinds in the order the report lists them.
KINDS = ("rule_failed", "rule_not_evaluated", "integrity", "license", "waiver_expired", "run_unavailable", "no_runs")

REMEDIATION = {
    "integrity": "The run folder no longer matches its certificate: find what changed it, then re-run the lane.",
    "waiver_expired": "Fix the rule, or have the owner renew the waiver with a new expiry date.",
    "run_unavailable": "Keep the run folder the ledger points at, or re-run the lane.",
    "no_runs": "Run a lane with `voicelane run` (it certifies and appends to the ledger), then report again.",
}


class GateError(ValueError):
    """The report was asked for runs the ledger does not have."""


@dataclass(slots=True)
class GatedRun:
    """One gated ledger entry, its run folder (when readable) and its integrity re-check."""

    entry: dict[str, Any]
    run: ev.RunFolder | None
    check: Verification | None
    problem: str | None = None

    @property
    def run_id(self) -> int:
        return int(self.entry["runId"])

    @property
    def lane(self) -> str | None:
        lane = self.entry.get("lane")
        return lane if isinstance(lane, str) else None


@dataclass(slots=True)
class Decision:
    blockers: list[dict[str, Any]] = field(default_factory=list)
    waived: list[dict[str, Any]] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return not self.blockers

    @property
    def verdict(self) -> str:
        return "GO" if self.go else "NO-GO"


def select(entries: list[dict[str, Any]], run_ids: list[int] | None) -> list[dict[str, Any]]:
    """The entries named by ``run_ids``, or else the latest entry of each lane, in runId order."""
    if run_ids:
        by_id = {e["runId"]: e for e in entries}
        missing = [r for r in run_ids if r not in by_id]
        if missing:
            raise GateError(f"runId {', '.join(map(str, missing))} not in the ledger")
        return sorted((by_id[r] for r in set(run_ids)), key=lambda e: e["runId"])
    latest: dict[str | None, dict[str, Any]] = {}
    for e in entries:
        latest[e.get("lane")] = e
    return sorted(latest.values(), key=lambda e: e["runId"])


def load(entry: dict[str, Any], ledger: Path | None) -> GatedRun:
    """Open a gated run's folder and re-check its certificate from the disk."""
    run_dir = entry.get("run_dir") or str(Path(str(entry.get("out_dir", ""))).parent)
    try:
        run = ev.load_run(run_dir)
    except ev.EvidenceError as exc:
        return GatedRun(entry, None, None, str(exc))
    check = verify(run_dir, ledger)
    if check.certificate_hash != entry.get("certificateHash"):
        check.differences.append(
            f"ledger: runId {entry['runId']} records certificateHash {entry.get('certificateHash')}, "
            f"the certificate in {run_dir} hashes to {check.certificate_hash}"
        )
    return GatedRun(entry, run, check)


def _finding(g: GatedRun | None, kind: str, rid: str, code: str, message: str, remediation: str) -> dict[str, Any]:
    return {
        "runId": g.run_id if g else None,
        "lane": g.lane if g else None,
        "kind": kind,
        "id": rid,
        "code": code,
        "message": message,
        "remediation": remediation,
    }


def _waived(base: dict[str, Any], w: Waiver) -> dict[str, Any]:
    return {**base, "owner": w.owner, "expires": w.expires.isoformat(), "reason": w.reason}


def run_waivers(g: GatedRun, given: WaiverSet | None) -> WaiverSet:
    """The waivers judged against a run: the report's ``--waivers``, else the ones it was certified with."""
    if given is not None:
        return given
    try:
        return ev.stored_waivers(g.run.path) if g.run else WaiverSet(None, None, ())
    except WaiverError:
        return WaiverSet(None, None, ())


def decide(gated: list[GatedRun], given: WaiverSet | None, today: dt.date) -> Decision:
    """Blockers and waived findings of the gated runs."""
    out = Decision()
    if not gated:
        out.blockers.append(
            _finding(None, "no_runs", "LEDGER", "no_runs", "the ledger has no runs", REMEDIATION["no_runs"])
        )
    for g in gated:
        _decide_run(g, run_waivers(g, given), today, out)
    out.blockers.sort(key=_sort_key)
    out.waived.sort(key=_sort_key)
    return out


def _sort_key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (KINDS.index(f["kind"]), f["runId"] or 0, order(f["id"]), f["id"], f["code"], f["message"])


def _decide_run(g: GatedRun, waivers: WaiverSet, today: dt.date, out: Decision) -> None:
    if g.run is None or g.check is None:
        out.blockers.append(
            _finding(g, "run_unavailable", "RUN", "run_unavailable", g.problem or "", REMEDIATION["run_unavailable"])
        )
        return
    if not g.check.integrity_ok:
        shown = g.check.differences[:20]
        more = len(g.check.differences) - len(shown)
        msg = "; ".join(shown) + (f"; ... and {more} more" if more > 0 else "")
        out.blockers.append(_finding(g, "integrity", "INTEGRITY", "integrity_mismatch", msg, REMEDIATION["integrity"]))
    for w in waivers.for_lane(g.lane):
        if w.expired(today):
            msg = f"waiver for {w.rule} (owner {w.owner}, reason: {w.reason}) expired on {w.expires.isoformat()}"
            out.blockers.append(
                _finding(g, "waiver_expired", w.rule, "waiver_expired", msg, REMEDIATION["waiver_expired"])
            )
    for base in _rule_blockers(g):
        valid = [w for w in waivers.find(g.lane, base["id"]) if not w.expired(today)]
        if valid:
            out.waived.append(_waived(base, valid[0]))
        else:
            out.blockers.append(base)


def _rule_blockers(g: GatedRun) -> list[dict[str, Any]]:
    """Failed hard rules, and mandatory rules that were skipped, errored or never reported."""
    assert g.run is not None
    raw = g.run.result.get("results")
    results = [r for r in (raw if isinstance(raw, list) else []) if isinstance(r, dict)]
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in results:
        rid, status = str(r.get("id")), r.get("status")
        seen.add(rid)
        try:
            cat = rule(rid)
            hard, mandatory, remediation = cat.severity == "hard", cat.mandatory, cat.remediation
        except KeyError:
            hard, mandatory, remediation = r.get("severity") == "hard", r.get("severity") == "hard", ""
        message = str(r.get("message") or "")
        code = str(r.get("code"))
        if status == "fail" and hard:
            kind = "license" if rid == LICENSE_RULE else "rule_failed"
            found.append(_finding(g, kind, rid, code, message, remediation))
        elif status in ("skip", "error") and mandatory:
            found.append(_finding(g, "rule_not_evaluated", rid, code, f"{status}: {message}", remediation))
        elif status not in ("pass", "fail", "skip", "error") and mandatory:
            found.append(_finding(g, "rule_not_evaluated", rid, code, f"unknown status {status!r}", remediation))
    for cat in rules():
        if cat.mandatory and cat.id not in seen:
            msg = "no result recorded for this mandatory rule"
            found.append(_finding(g, "rule_not_evaluated", cat.id, cat.code, msg, cat.remediation))
    return found
