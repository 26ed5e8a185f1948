"""JUnit XML for CI systems that read test reports (Jenkins, GitLab, Azure, GitHub test reporters).

One ``<testsuite>`` per lane run, one ``<testcase>`` per rule (several
findings of one rule become one testcase that quotes them all). A failed
hard rule is a ``<failure>`` whose ``type`` is the rule's stable failure
code; a soft failure passes with the finding in ``<system-out>``; a skip is
``<skipped>`` with its reason, so a skip never reads as a pass; a rule that
could not be evaluated is an ``<error>``.

``voicelane report`` adds a ``readiness`` suite whose single ``decision``
testcase fails on NO-GO and lists every blocker, so a CI that only counts
failures gates exactly like the report.

Everything here quotes text a lane wrote: characters XML 1.0 cannot carry
are replaced by ``\\xNN`` / ``\\uNNNN`` escapes, and attributes are bounded.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.cases import Case, group
from harness.results import Result

#: Characters XML 1.0 does not allow even as character references.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_ATTR = 1000


def clean(text: object, limit: int | None = None) -> str:
    """Text safe for an XML 1.0 document: illegal characters escaped, optionally bounded."""

    def esc(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    s = _ILLEGAL.sub(esc, str(text))
    if limit is not None and len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def _testcase(suite: str, case: Case, waived: str | None) -> ET.Element:
    tc = ET.Element("testcase", classname=clean(suite), name=clean(case.id), time="0")
    if case.outcome == "fail" and waived is None:
        el = ET.SubElement(tc, "failure", type=clean(case.code), message=clean(case.message, MAX_ATTR))
        el.text = clean(case.details())
    elif case.outcome == "error":
        el = ET.SubElement(tc, "error", type=clean(case.code), message=clean(case.message, MAX_ATTR))
        el.text = clean(case.details())
    elif case.outcome == "skip":
        ET.SubElement(tc, "skipped", message=clean(case.message, MAX_ATTR))
    elif case.outcome == "warn":
        ET.SubElement(tc, "system-out").text = clean(f"WARNING (soft rule {case.id} [{case.code}])\n{case.details()}")
    if waived is not None and case.outcome == "fail":
        ET.SubElement(tc, "system-out").text = clean(f"WAIVED: {waived}\n{case.details()}")
    return tc


def rule_suite(
    name: str,
    results: Iterable[Result | Mapping[str, Any]],
    *,
    properties: Mapping[str, object] | None = None,
    time: float = 0.0,
    timestamp: str | None = None,
    waived: Mapping[str, str] | None = None,
) -> ET.Element:
    """A testsuite with one testcase per rule; ``waived`` maps rule id to why its failure does not count."""
    waived = waived or {}
    suite = ET.Element("testsuite", name=clean(name))
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            if value is not None:
                ET.SubElement(props, "property", name=clean(key), value=clean(value, MAX_ATTR))
    for case in group(results):
        suite.append(_testcase(name, case, waived.get(case.id)))
    _count(suite, time, timestamp)
    return suite


def _count(suite: ET.Element, time: float, timestamp: str | None) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
    suite.set("time", f"{time:.3f}")
    if timestamp:
        suite.set("timestamp", clean(timestamp))


def testsuites(suites: Sequence[ET.Element], name: str = "voicelane") -> ET.Element:
    """The ``<testsuites>`` root with totals over its suites."""
    root = ET.Element("testsuites", name=name)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", f"{sum(float(s.get('time', '0')) for s in suites):.3f}")
    root.extend(suites)
    return root


def write(path: str | os.PathLike[str], root: ET.Element) -> Path:
    """Write the document (UTF-8, declaration, indented) atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root)
    return write_atomic(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def run_suite(doc: Mapping[str, Any]) -> ET.Element:
    """The testsuite of one ``result.json`` (``voicelane run``)."""
    run = doc.get("run") or {}
    ff = doc.get("first_fail")
    props = {
        "verdict": doc.get("verdict"),
        "first_fail": f"{ff.get('id')} [{ff.get('code')}]" if isinstance(ff, dict) else None,
        "spec": run.get("spec"),
        "run_dir": run.get("run_dir"),
    }
    return rule_suite(
        str(run.get("lane") or "lane"),
        doc.get("results") or [],
        properties=props,
        time=float(run.get("duration_s") or 0.0),
        timestamp=run.get("started_at") or None,
    )


def write_run(path: str | os.PathLike[str], doc: Mapping[str, Any]) -> Path:
    return write(path, testsuites([run_suite(doc)]))


def report_suites(report: Mapping[str, Any]) -> list[ET.Element]:
    """``voicelane report``: the readiness decision, then one suite per gated run (waivers applied)."""
    from harness.jsonfile import JsonFileError, loads_strict

    decision = report["decision"]
    gate = ET.Element("testsuite", name="readiness")
    tc = ET.SubElement(gate, "testcase", classname="readiness", name="decision", time="0")
    if decision["blockers"]:
        text = "\n".join(
            f"{b['id']} [{b['code']}] ({b['kind']}"
            + (f", run {b['runId']}" if b.get("runId") is not None else "")
            + f"): {b['message']}"
            for b in decision["blockers"]
        )
        el = ET.SubElement(tc, "failure", type="NO-GO", message=f"NO-GO: {len(decision['blockers'])} blocker(s)")
        el.text = clean(text)
    _count(gate, 0.0, report.get("generated_at"))
    suites = [gate]
    for row in report["runs"]:
        if not row.get("gated"):
            continue
        waived = {
            w["id"]: f"by {w['owner']} until {w['expires']}: {w['reason']}"
            for w in decision["waived"]
            if w.get("runId") == row["runId"]
        }
        name = f"{row.get('lane') or 'lane'} (run {row['runId']})"
        props = {"runId": row["runId"], "verdict": row["verdict"], "certificateHash": row["certificateHash"]}
        try:
            doc = loads_strict((Path(str(row.get("run_dir"))) / "result.json").read_bytes())
            results = doc.get("results") if isinstance(doc, dict) else None
        except (OSError, JsonFileError):
            results = None
        if not isinstance(results, list):
            unavailable = Result("RUN", "run_unavailable", "hard", "error", f"cannot read {row.get('run_dir')}")
            suites.append(rule_suite(name, [unavailable], properties=props))
            continue
        suites.append(rule_suite(name, [r for r in results if isinstance(r, dict)], properties=props, waived=waived))
    return suites


def write_report(path: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    return write(path, testsuites(report_suites(report)))
