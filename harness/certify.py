"""The certificate: an in-toto Statement v1 over a run's evidence, its hash, and its re-check.

``certificateHash`` is the SHA-256 of the RFC 8785 canonical form of the
Statement. The Statement holds only evidence (see ``harness.evidence``), so
two runs with the same evidence share a hash and any change of evidence
changes it. Run identity (runId, traceId, time) is kept beside it in
``certificate.meta.json`` and in the ledger.

``verify`` never trusts anything stored as a conclusion: it recomputes the
hash and every digest from the files on disk and names each difference.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785

from harness import evidence as ev
from harness.atomic import write_atomic
from harness.hashing import sha256_bytes
from harness.jsonfile import JsonFileError, loads_strict, read_fd
from harness.waivers import EMPTY, WaiverError, WaiverSet, load_waivers, today

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://voicelane.dev/contracts/certificate/1"
CERTIFICATE = "certificate.json"
META = "certificate.meta.json"
EXIT_HARNESS = 3


def statement(subject: list[dict[str, Any]], predicate: dict[str, Any]) -> dict[str, Any]:
    return {"_type": STATEMENT_TYPE, "subject": subject, "predicateType": PREDICATE_TYPE, "predicate": predicate}


def certificate_hash(stmt: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of the Statement."""
    return sha256_bytes(rfc8785.dumps(stmt))


def _pretty(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(slots=True)
class Certified:
    """What certifying a run produced."""

    run_dir: Path
    statement: dict[str, Any]
    certificate_hash: str


def certify(run_dir: str | os.PathLike[str], waivers: WaiverSet = EMPTY, on: dt.date | None = None) -> Certified:
    """Collect the evidence of ``run_dir`` and write ``certificate.json`` (and the waivers copy) into it."""
    run = ev.load_run(run_dir)
    git = ev.git_identity(run.run.get("workdir") if isinstance(run.run.get("workdir"), str) else None)
    subject, predicate = ev.collect(run, waivers, on or today(), git)
    stmt = statement(subject, predicate)
    copy = run.path / ev.WAIVERS_COPY
    if waivers.source is not None:
        shutil.copyfile(waivers.source, copy)
    elif copy.exists():
        copy.unlink()
    write_atomic(run.path / CERTIFICATE, _pretty(stmt))
    return Certified(run.path, stmt, certificate_hash(stmt))


def write_meta(run_dir: Path, meta: dict[str, Any]) -> None:
    write_atomic(run_dir / META, _pretty(meta))


def read_meta(run_dir: Path) -> dict[str, Any] | None:
    doc = ev.read_json(run_dir / META)
    return doc if isinstance(doc, dict) else None


# ─── verification ────────────────────────────────────────────────────────────


@dataclass(slots=True)
class Verification:
    """The outcome of re-checking a certificate against the disk."""

    run_dir: Path
    certificate_hash: str | None
    differences: list[str] = field(default_factory=list)
    meta: dict[str, Any] | None = None
    statement: dict[str, Any] | None = None

    @property
    def integrity_ok(self) -> bool:
        return self.certificate_hash is not None and not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "integrityOk": self.integrity_ok,
            "certificateHash": self.certificate_hash,
            "differences": self.differences,
            "run_dir": str(self.run_dir),
        }


def locate(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(run folder, certificate file) for a path naming either."""
    p = Path(path)
    if p.is_dir():
        return p, p / CERTIFICATE
    return p.parent, p


def load_statement(cert: Path) -> dict[str, Any]:
    try:
        fd = os.open(cert, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ev.EvidenceError(f"{cert}: {exc.strerror or exc}") from None
    try:
        doc = loads_strict(read_fd(fd))
    except JsonFileError as exc:
        raise ev.EvidenceError(f"{cert}: {exc}") from None
    finally:
        os.close(fd)
    if not isinstance(doc, dict):
        raise ev.EvidenceError(f"{cert}: not a JSON object")
    return doc


def verify(path: str | os.PathLike[str], ledger: Path | None = None) -> Verification:
    """Recompute the Statement hash and every digest it holds from the disk; list what differs."""
    run_dir, cert = locate(path)
    try:
        stmt = load_statement(cert)
    except ev.EvidenceError as exc:
        return Verification(run_dir, None, [f"certificate: {exc}"])
    digest = certificate_hash(stmt)
    out = Verification(run_dir, digest, [], read_meta(run_dir), stmt)
    out.differences += _shape_problems(stmt)
    out.differences += _hash_records(digest, out.meta, run_dir, ledger)
    if not any(d.startswith("certificate:") for d in out.differences):
        out.differences += _evidence_differences(run_dir, stmt)
    return out


def _shape_problems(stmt: dict[str, Any]) -> list[str]:
    from harness.schemas import schema_errors

    problems = []
    if stmt.get("_type") != STATEMENT_TYPE:
        problems.append(f"certificate: _type is {stmt.get('_type')!r}, expected {STATEMENT_TYPE}")
    if stmt.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"certificate: predicateType is {stmt.get('predicateType')!r}, expected {PREDICATE_TYPE}")
    if not isinstance(stmt.get("subject"), list) or not isinstance(stmt.get("predicate"), dict):
        problems.append("certificate: subject must be a list and predicate an object")
        return problems
    problems += [f"certificate: predicate{e}" for e in schema_errors("certificate/1", stmt["predicate"])]
    return problems


def _hash_records(digest: str, meta: dict[str, Any] | None, run_dir: Path, ledger: Path | None) -> list[str]:
    """The recomputed hash must equal the one recorded beside the certificate and in the ledger."""
    problems = []
    if meta is None:
        return [f"certificateHash: {META} is missing or unreadable, so the recorded hash cannot be compared"]
    if meta.get("certificateHash") != digest:
        problems.append(
            f"certificateHash: recorded {meta.get('certificateHash')} but the certificate hashes to {digest}"
        )
    ledger_path = ledger or (Path(meta["ledger"]) if isinstance(meta.get("ledger"), str) else None)
    run_id = meta.get("runId")
    if ledger_path is not None and ledger_path.is_file() and isinstance(run_id, int):
        from harness.ledger import read_ledger

        entry = next((e for e in read_ledger(ledger_path).entries if e.get("runId") == run_id), None)
        if entry is None:
            problems.append(f"ledger: {ledger_path} has no entry with runId {run_id}")
        elif entry.get("certificateHash") != digest:
            problems.append(
                f"ledger: runId {run_id} records certificateHash {entry.get('certificateHash')}, "
                f"the certificate hashes to {digest}"
            )
    return problems


def _evidence_differences(run_dir: Path, stmt: dict[str, Any]) -> list[str]:
    """Recollect what can be recollected from disk and compare it with what the certificate says."""
    try:
        run = ev.load_run(run_dir)
    except ev.EvidenceError as exc:
        return [f"result.json: {exc}"]
    pred = stmt["predicate"]
    old = pred["evidence"]
    problems: list[str] = []
    if ev.verdict_of(run) != pred["verdict"]:
        problems.append(f"verdict: certificate says {pred['verdict']}, result.json says {ev.verdict_of(run)}")
    if ev.first_fail_of(run) != pred["firstFail"]:
        problems.append(f"firstFail: certificate says {pred['firstFail']}, result.json says {ev.first_fail_of(run)}")
    if ev.results_evidence(run) != old["results"]:
        problems.append("results: the rule results in result.json differ from the certified ones")
    problems += _spec_problems(run, old["spec"])
    fresh_inputs = ev.inputs_evidence(run)
    for key in sorted(fresh_inputs):
        if fresh_inputs[key] != old["inputs"].get(key):
            problems.append(f"inputs.{key}: certified {old['inputs'].get(key)}, now {fresh_inputs[key]}")
    problems += _file_differences("out file", old["outputs"], ev.tree_digests(run.out_dir))
    problems += _subject_differences(stmt["subject"], ev.subject(run))
    problems += _waiver_problems(run_dir, old["waivers"])
    return problems


def _spec_problems(run: ev.RunFolder, spec: dict[str, Any]) -> list[str]:
    problems = []
    content = spec.get("content")
    readable = isinstance(content, str) and spec.get("sha256") and "\ufffd" not in content
    if readable and sha256_bytes(str(content).encode("utf-8")) != spec["sha256"]:
        problems.append("spec: the certified spec text does not hash to the certified spec sha256")
    recorded = run.run.get("spec_sha256")
    if isinstance(recorded, str) and recorded != spec.get("sha256"):
        problems.append(f"spec: result.json records spec sha256 {recorded}, certificate says {spec.get('sha256')}")
    return problems


def _file_differences(label: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    before = {d["path"]: d for d in old}
    after = {d["path"]: d for d in new}
    problems = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        if b is None:
            problems.append(f"{label} missing: {path}")
        elif a is None:
            problems.append(f"{label} added: {path}")
        else:
            changed = [k for k in ("kind", "bytes", "sha256") if a.get(k) != b.get(k)]
            problems.append(f"{label} changed: {path} ({', '.join(changed)})")
    return problems


def _subject_differences(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    def flat(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"path": str(s.get("name")), "kind": "file", "sha256": (s.get("digest") or {}).get("sha256")}
            for s in items
            if isinstance(s, dict)
        ]

    return _file_differences("subject", flat(old), flat(new))


def _waiver_problems(run_dir: Path, old: dict[str, Any]) -> list[str]:
    try:
        stored = ev.stored_waivers(run_dir)
    except WaiverError as exc:
        return [f"waivers: {exc}"]
    problems = []
    if stored.sha256 != old.get("sha256"):
        problems.append(f"waivers: {ev.WAIVERS_COPY} digest is {stored.sha256}, certified {old.get('sha256')}")
    entries = old.get("entries") or []
    if any(w not in entries for w in old.get("applied") or []):
        problems.append("waivers: an applied waiver is not among the certified waivers")
    return problems


# ─── after `voicelane run` ───────────────────────────────────────────────────


def certificate_block(values: dict[str, Any]) -> str:
    """The final certificate block printed to the terminal and written into the report."""
    ff = values.get("firstFail")
    ff_text = f"{ff.get('id')} [{ff.get('code')}]" if isinstance(ff, dict) else "null"
    rows = [
        ("verdict", values.get("verdict")),
        ("firstFail", ff_text),
        ("certificateHash", values.get("certificateHash")),
        ("integrityOk", "true" if values.get("integrityOk") else "false"),
        ("traceId", values.get("traceId")),
        ("runId", values.get("runId")),
    ]
    return "── certificate ──\n" + "".join(f"{k + ':':<17}{v}\n" for k, v in rows)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def certify_run(
    run_dir: Path, ledger: Path | None = None, note: str | None = None, waivers: Path | None = None
) -> int | None:
    """Certify a finished run, append it to the ledger, print the certificate block to stderr.

    Called by ``voicelane run`` after result.json is written. Returns None,
    or 3 when the run could not be certified or recorded (the message says why).
    Waivers come from ``waivers`` or ``VOICELANE_WAIVERS``.
    """
    from harness.ledger import LedgerError, append_entry, ledger_path

    run_dir = Path(run_dir)
    try:
        source = waivers or (Path(os.environ["VOICELANE_WAIVERS"]) if os.environ.get("VOICELANE_WAIVERS") else None)
        done = certify(run_dir, load_waivers(source))
        trace = str(uuid.uuid4())
        path = ledger_path(ledger)
        run = ev.load_run(run_dir)
        pred = done.statement["predicate"]
        git = pred["evidence"]["lane"]["git"]
        meta: dict[str, Any] = {
            "certificateHash": done.certificate_hash,
            "hashAlgorithm": "sha256 over RFC 8785 canonical JSON of certificate.json",
            "traceId": trace,
            "time": _now(),
            "ledger": str(path.resolve()),
            "runId": None,
        }
        write_meta(run_dir, meta)
        check = verify(run_dir)  # recomputed from disk, never assumed; runId is not known yet, so no ledger look-up
        integrity = check.integrity_ok and check.certificate_hash == done.certificate_hash
        entry = append_entry(
            path,
            {
                "traceId": trace,
                "time": meta["time"],
                "lane": run.lane,
                "commit": git["commit"] if git else None,
                "dirty": git["dirty"] if git else None,
                "verdict": pred["verdict"],
                "firstFail": pred["firstFail"],
                "certificateHash": done.certificate_hash,
                "integrityOk": integrity,
                "out_dir": str(run.out_dir.resolve()),
                "run_dir": str(run_dir.resolve()),
                "note": note,
            },
        )
        meta["runId"] = entry["runId"]
        write_meta(run_dir, meta)
    except (ev.EvidenceError, WaiverError, LedgerError, OSError) as exc:
        print(f"voicelane: could not certify {run_dir}: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    sys.stderr.write(certificate_block({**entry, "integrityOk": integrity}))
    if not integrity:
        for d in check.differences:
            print(f"  differs: {d}", file=sys.stderr)
    return None
