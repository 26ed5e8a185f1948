"""One case per rule: a run's findings grouped by rule id, each group with a single outcome.

CI surfaces (JUnit testcases, pytest items, GitHub annotations) show one
entry per rule, while a verifier may report several findings for one rule
(one per bad file). Grouping here keeps the three surfaces in agreement:
the same rule is a failure, a warning or a skip everywhere.

Outcomes: ``fail`` (a hard rule failed: blocks), ``warn`` (a soft rule
failed: reported, never blocks), ``error`` (the rule could not be
evaluated), ``skip`` (not applicable, with the reason), ``pass``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.results import Result

Outcome = Literal["pass", "fail", "warn", "error", "skip"]

#: A missing result of a mandatory rule is an error, never a silent pass (as in the readiness gate).
MISSING = "no result recorded for this rule"


@dataclass(frozen=True, slots=True)
class Case:
    """All findings of one rule and the outcome they add up to."""

    id: str
    code: str
    severity: str
    outcome: Outcome
    findings: tuple[Result, ...]
    remediation: str = ""

    @property
    def blocking(self) -> bool:
        return self.outcome == "fail"

    @property
    def message(self) -> str:
        """The first relevant finding's message, with a count when there are more."""
        relevant = [r for r in self.findings if r.status == _STATUS_OF[self.outcome]] or list(self.findings)
        if not relevant:
            return ""
        first = relevant[0].message
        return first if len(relevant) == 1 else f"{first} (and {len(relevant) - 1} more findings)"

    def details(self) -> str:
        """Every finding on its own line (location first), then the remediation."""
        lines = []
        for r in self.findings:
            where = f"{r.location}: " if r.location else ""
            lines.append(f"{r.status.upper()} {where}{r.message}")
        if self.remediation and self.outcome in ("fail", "warn", "error"):
            lines.append(f"fix: {self.remediation}")
        return "\n".join(lines)


_STATUS_OF: dict[Outcome, str] = {"pass": "pass", "fail": "fail", "warn": "fail", "error": "error", "skip": "skip"}


def _outcome(findings: list[Result]) -> Outcome:
    statuses = {r.status for r in findings}
    if any(r.blocking for r in findings):
        return "fail"
    if "fail" in statuses:
        return "warn"
    if "error" in statuses:
        return "error"
    if statuses == {"skip"}:
        return "skip"
    return "pass"


def _remediation(rule_id: str) -> str:
    from harness.catalogue import rule

    try:
        return rule(rule_id).remediation
    except KeyError:
        return ""


def group(results: Iterable[Result | Mapping[str, Any]]) -> list[Case]:
    """One ``Case`` per rule id, in catalogue order (findings keep their order)."""
    from harness.results import sort_results

    typed = [r if isinstance(r, Result) else Result.from_dict(dict(r)) for r in results]
    by_id: dict[str, list[Result]] = {}
    for r in sort_results(typed):
        by_id.setdefault(r.id, []).append(r)
    return [
        Case(rid, found[0].code, found[0].severity, _outcome(found), tuple(found), _remediation(rid))
        for rid, found in by_id.items()
    ]


def missing(rule_id: str) -> Case:
    """The case of a catalogue rule a run did not report: an error when it is mandatory, else a skip."""
    from harness.catalogue import rule

    r = rule(rule_id)
    outcome: Outcome = "error" if r.mandatory else "skip"
    found = Result(r.id, r.code, r.severity, "error" if r.mandatory else "skip", MISSING)
    return Case(r.id, r.code, r.severity, outcome, (found,), r.remediation)
