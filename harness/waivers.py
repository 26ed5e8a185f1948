"""Waivers: a named person accepts one failing rule on one lane until a date.

A waiver is evidence, not a switch: it is digested into the certificate,
listed apart in the report with its owner and expiry, and stops applying the
day after it expires — an expired waiver is itself a NO-GO blocker, so
nobody ships on an exception that was meant to end.

File format (``waivers.toml``), one table per waiver::

    [[waiver]]
    rule = "BUNDLE-license-commercial"
    lane = "reference"
    reason = "weights licence under review"
    owner = "release@example.com"
    expires = 2027-01-31
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.hashing import sha256_bytes

#: Largest waivers file read (it is a short hand-written list).
MAX_WAIVERS_BYTES = 1 << 20

FIELDS = ("rule", "lane", "reason", "owner", "expires")


class WaiverError(ValueError):
    """The waivers file cannot be used; the message names the waiver and field."""


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    lane: str
    reason: str
    owner: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        """A waiver is good through its ``expires`` day and expired after it."""
        return today > self.expires

    def matches(self, lane: str | None, rule_id: str) -> bool:
        return self.rule == rule_id and (self.lane == "*" or self.lane == lane)

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "lane": self.lane,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Waiver:
        return cls(
            rule=str(data["rule"]),
            lane=str(data["lane"]),
            reason=str(data["reason"]),
            owner=str(data["owner"]),
            expires=dt.date.fromisoformat(str(data["expires"])),
        )


@dataclass(frozen=True, slots=True)
class WaiverSet:
    """The waivers of one file, and that file's digest (``None`` when there is no file)."""

    source: str | None
    sha256: str | None
    waivers: tuple[Waiver, ...]

    def for_lane(self, lane: str | None) -> list[Waiver]:
        return [w for w in self.waivers if w.lane in ("*", lane)]

    def find(self, lane: str | None, rule_id: str) -> list[Waiver]:
        return [w for w in self.waivers if w.matches(lane, rule_id)]


EMPTY = WaiverSet(None, None, ())


def today() -> dt.date:
    """The date waivers are judged against: ``VOICELANE_TODAY`` (YYYY-MM-DD) or the UTC date.

    Not ``SOURCE_DATE_EPOCH``: pinning build timestamps must never keep an
    expired waiver alive.
    """
    pinned = os.environ.get("VOICELANE_TODAY")
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            raise WaiverError(f"VOICELANE_TODAY={pinned!r} is not a YYYY-MM-DD date") from None
    return dt.datetime.now(dt.UTC).date()


def parse_waivers(data: bytes, source: str | None = None) -> WaiverSet:
    """Parse and check a waivers document; every waiver must name a catalogue rule."""
    from harness.catalogue import rule

    where = source or "waivers"
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WaiverError(f"{where}: not TOML: {exc}") from None
    unknown = sorted(set(doc) - {"waiver"})
    if unknown:
        raise WaiverError(f"{where}: unknown top-level key(s) {', '.join(unknown)}; use [[waiver]] tables")
    tables = doc.get("waiver", [])
    if not isinstance(tables, list):
        raise WaiverError(f"{where}: 'waiver' must be an array of tables ([[waiver]])")
    out = []
    for i, table in enumerate(tables, 1):
        out.append(_one(table, f"{where}: waiver {i}"))
        try:
            rule(out[-1].rule)
        except KeyError:
            raise WaiverError(f"{where}: waiver {i}: {out[-1].rule!r} is not a rule id in the catalogue") from None
    return WaiverSet(source, sha256_bytes(data), tuple(out))


def _one(table: Any, where: str) -> Waiver:
    if not isinstance(table, dict):
        raise WaiverError(f"{where}: not a table")
    missing = [f for f in FIELDS if f not in table]
    if missing:
        raise WaiverError(f"{where}: missing {', '.join(missing)}")
    extra = sorted(set(table) - set(FIELDS))
    if extra:
        raise WaiverError(f"{where}: unknown field(s) {', '.join(extra)}")
    for f in FIELDS[:4]:
        if not isinstance(table[f], str) or not table[f].strip():
            raise WaiverError(f"{where}: {f} must be a non-empty string")
    expires = table["expires"]
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        raise WaiverError(f"{where}: expires must be a TOML date such as 2027-01-31")
    return Waiver(table["rule"], table["lane"], table["reason"], table["owner"], expires)


def load_waivers(path: str | os.PathLike[str] | None) -> WaiverSet:
    """The waivers in ``path``; the empty set when ``path`` is None."""
    if path is None:
        return EMPTY
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_WAIVERS_BYTES + 1)
    except OSError as exc:
        raise WaiverError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_WAIVERS_BYTES:
        raise WaiverError(f"{p}: larger than {MAX_WAIVERS_BYTES} bytes")
    return parse_waivers(data, str(p))
