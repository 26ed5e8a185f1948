"""Rule results and verdicts: the plain data every verifier returns.

A result is one rule's outcome on one input. Results are ordered by the
catalogue, so ``first_fail`` and every report are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["pass", "fail", "skip", "error"]
Severity = Literal["hard", "soft"]
Verdict = Literal["PASS", "FAIL", "ERROR"]

STATUSES: tuple[Status, ...] = ("pass", "fail", "skip", "error")


@dataclass(frozen=True, slots=True)
class Result:
    """One rule's outcome: ``{id, code, severity, status, message, location}``."""

    id: str
    code: str
    severity: Severity
    status: Status
    message: str = ""
    location: str | None = None

    @property
    def blocking(self) -> bool:
        """A failed hard rule: it makes the verdict FAIL."""
        return self.status == "fail" and self.severity == "hard"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            id=data["id"],
            code=data["code"],
            severity=data["severity"],
            status=data["status"],
            message=data.get("message", ""),
            location=data.get("location"),
        )


def verdict(results: Iterable[Result]) -> Verdict:
    """FAIL when a hard rule failed; ERROR when a rule could not be evaluated; else PASS."""
    results = list(results)
    if any(r.blocking for r in results):
        return "FAIL"
    if any(r.status == "error" for r in results):
        return "ERROR"
    return "PASS"


def first_fail(results: Iterable[Result]) -> Result | None:
    """The first failed hard result in catalogue order, or None."""
    from harness.catalogue import order

    blocking = [r for r in results if r.blocking]
    return min(blocking, key=lambda r: order(r.id)) if blocking else None


def sort_results(results: Iterable[Result]) -> list[Result]:
    """Results in catalogue order; a stable sort keeps each rule's findings in input order."""
    from harness.catalogue import order

    return sorted(results, key=lambda r: order(r.id))


EXIT_CODES: dict[Verdict, int] = {"PASS": 0, "FAIL": 1, "ERROR": 3}
