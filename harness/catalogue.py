"""The rule catalogue as typed data, and the ``Checklist`` verifiers fill in.

Every verifier owns one *scope* of the catalogue. A ``Checklist`` makes sure
every rule of that scope ends with an explicit outcome: a rule that was never
marked checked, failed or skipped comes out as ``error`` — never as a silent
pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from contracts import load_catalogue
from harness.results import Result, Severity

#: Findings kept per rule and input; the rest are counted in one summary line.
MAX_FINDINGS_PER_RULE = 50

SCOPES = ("protocol", "status", "dataset", "bundle", "lane")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    scope: str
    code: str
    severity: Severity
    description: str
    remediation: str
    mandatory: bool

    def result(self, status: str, message: str = "", location: str | None = None) -> Result:
        return Result(self.id, self.code, self.severity, status, message, location)  # type: ignore[arg-type]


@cache
def rules() -> tuple[Rule, ...]:
    """All rules in catalogue order."""
    return tuple(
        Rule(
            id=r["id"],
            scope=r["scope"],
            code=r["code"],
            severity=r["severity"],
            description=r["description"],
            remediation=r["remediation"],
            mandatory=r.get("mandatory", r["severity"] == "hard"),
        )
        for r in load_catalogue()
    )


@cache
def _index() -> dict[str, tuple[int, Rule]]:
    return {r.id: (i, r) for i, r in enumerate(rules())}


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names it when unknown."""
    return _index()[rule_id][1]


def order(rule_id: str) -> int:
    """Catalogue position of a rule id (unknown ids sort last)."""
    entry = _index().get(rule_id)
    return entry[0] if entry else len(_index())


def for_scope(scope: str) -> tuple[Rule, ...]:
    return tuple(r for r in rules() if r.scope == scope)


class Checklist:
    """Collects the outcome of every rule of one scope for one input."""

    def __init__(self, scope: str, location: str | None = None) -> None:
        self.scope = scope
        self.location = location
        self._rules = for_scope(scope)
        self._known = {r.id for r in self._rules}
        self._checked: set[str] = set()
        self._fails: dict[str, list[Result]] = {}
        self._dropped: dict[str, int] = {}
        self._skips: dict[str, str] = {}
        self._errors: dict[str, str] = {}

    def _rule(self, rule_id: str) -> Rule:
        if rule_id not in self._known:
            raise KeyError(f"{rule_id} is not a {self.scope} rule")
        return rule(rule_id)

    def checked(self, *rule_ids: str) -> None:
        """Mark rules as evaluated: they pass unless a failure is recorded."""
        for rule_id in rule_ids:
            self._rule(rule_id)
            self._checked.add(rule_id)

    def fail(self, rule_id: str, message: str, location: str | None = None) -> None:
        r = self._rule(rule_id)
        self._checked.add(rule_id)
        found = self._fails.setdefault(rule_id, [])
        if len(found) < MAX_FINDINGS_PER_RULE:
            found.append(r.result("fail", message, location or self.location))
        else:
            self._dropped[rule_id] = self._dropped.get(rule_id, 0) + 1

    def require_file(self, rule_id: str, path: Path, what: str) -> bool:
        """Check that ``path`` is a regular file; otherwise fail ``rule_id`` and skip the rest."""
        if path.is_file():
            self.checked(rule_id)
            return True
        self.fail(rule_id, f"{path} {'is not a regular file' if path.exists() else 'does not exist'}")
        self.skip_rest(f"there is no {what}")
        return False

    def failed(self, rule_id: str) -> bool:
        return rule_id in self._fails

    def skip(self, rule_id: str, reason: str) -> None:
        self._rule(rule_id)
        self._skips.setdefault(rule_id, reason)

    def error(self, rule_id: str, message: str) -> None:
        self._rule(rule_id)
        self._errors.setdefault(rule_id, message)

    def skip_rest(self, reason: str) -> None:
        """Skip every rule that has no outcome yet (its precondition failed)."""
        for r in self._rules:
            if r.id not in self._checked and r.id not in self._errors:
                self._skips.setdefault(r.id, reason)

    def results(self) -> list[Result]:
        out: list[Result] = []
        for r in self._rules:
            if r.id in self._fails:
                out.extend(self._fails[r.id])
                if r.id in self._dropped:
                    more = self._dropped[r.id]
                    out.append(r.result("fail", f"... and {more} more findings", self.location))
            elif r.id in self._errors:
                out.append(r.result("error", self._errors[r.id], self.location))
            elif r.id in self._checked:
                out.append(r.result("pass", r.description, self.location))
            elif r.id in self._skips:
                out.append(r.result("skip", self._skips[r.id], self.location))
            else:
                out.append(r.result("error", "rule was not evaluated", self.location))
        return out
