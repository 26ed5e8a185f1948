"""Evidence: everything a run's verdict rests on, as plain, reproducible data.

The evidence is what the certificate hashes, so it must hold every fact a
verdict depends on and nothing that changes from one identical run to the
next: no timestamps, no run ids, no absolute paths of the run folder (argv
mentioning it is rewritten to ``$VOICELANE_RUN_DIR`` / ``$VOICELANE_OUT``).
Files are read without following links and hashed in streaming chunks.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.hashing import parallel_map, sha256_bytes, sha256_fd
from harness.jsonfile import JsonFileError, loads_strict, read_fd, read_json_file
from harness.safepaths import (
    NotRegularFile,
    PathEscape,
    SymlinkRefused,
    normalize_relpath,
    open_root,
    open_under,
    walk_tree,
)
from harness.waivers import WaiverSet, parse_waivers

RESULT = "result.json"
OUT = "out"
#: The copy of the waivers a run was certified with, kept in the run folder so it can be re-digested.
WAIVERS_COPY = "waivers.toml"
#: Largest spec embedded in the certificate.
MAX_SPEC_BYTES = 1 << 20
GIT_TIMEOUT_S = 10


class EvidenceError(Exception):
    """The run folder cannot be certified (no readable result.json)."""


@dataclass(slots=True)
class RunFolder:
    """A ``voicelane run`` folder: its result.json and where its outputs are."""

    path: Path
    result: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        """``DIR/out``; the recorded out_dir only when the folder holds none (it may have moved)."""
        local = self.path / OUT
        recorded = self.run.get("out_dir")
        if local.is_dir() or not isinstance(recorded, str):
            return local
        return Path(recorded)

    @property
    def lane(self) -> str | None:
        lane = self.run.get("lane")
        return lane if isinstance(lane, str) else None

    def output(self, role: str) -> str | None:
        """A declared output (``train_status``, ``dataset_manifest``, ``bundle``, ``dataset_root``) or None."""
        outputs = self.run.get("outputs")
        value = outputs.get(role) if isinstance(outputs, dict) else None
        return value if isinstance(value, str) and value else None

    def resolve(self, path: str) -> Path:
        """A declared output path: relative ones resolve under out/."""
        return Path(path) if os.path.isabs(path) else self.out_dir / path

    def bundle_dir(self) -> Path | None:
        declared = self.output("bundle")
        return self.resolve(declared) if declared else None


def load_run(run_dir: str | os.PathLike[str]) -> RunFolder:
    """Read ``run_dir/result.json`` strictly; EvidenceError says why it cannot be used."""
    path = Path(run_dir)
    try:
        fd = os.open(path / RESULT, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise EvidenceError(f"{path / RESULT}: {exc.strerror or exc}") from None
    try:
        result = loads_strict(read_fd(fd))
    except JsonFileError as exc:
        raise EvidenceError(f"{path / RESULT}: {exc}") from None
    finally:
        os.close(fd)
    if not isinstance(result, dict):
        raise EvidenceError(f"{path / RESULT}: not a JSON object")
    run = result.get("run")
    return RunFolder(path, result, run if isinstance(run, dict) else {})


# ─── files ───────────────────────────────────────────────────────────────────


def tree_digests(root: Path) -> list[dict[str, Any]]:
    """Every entry under ``root`` except folders: ``{path, kind, sha256, bytes}``, sorted by path.

    Links and special files are listed with their kind and never opened.
    """
    if not root.is_dir():
        return []
    entries = [(rel, kind) for rel, kind in walk_tree(root) if kind != "dir"]
    with open_root(root) as root_fd:

        def one(item: tuple[str, str]) -> dict[str, Any]:
            rel, kind = item
            if kind != "file":
                return {"path": rel, "kind": kind}
            try:
                fd = open_under(root_fd, normalize_relpath(rel))
            except (PathEscape, SymlinkRefused, NotRegularFile, OSError):
                return {"path": rel, "kind": "other"}
            try:
                digest, size = sha256_fd(fd)
            finally:
                os.close(fd)
            return {"path": rel, "kind": "file", "sha256": digest, "bytes": size}

        digests = parallel_map(one, entries)
    return sorted(digests, key=lambda d: d["path"])


def file_sha256(path: Path) -> str | None:
    """Digest of a regular file (no link as the last component), or None when it is not one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not _is_regular(fd):
            return None
        return sha256_fd(fd)[0]
    finally:
        os.close(fd)


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def read_json(path: Path) -> Any | None:
    """A JSON file a lane wrote, strictly, or None when it is absent or not strict JSON."""
    return read_json_file(path)


def spec_evidence(run: RunFolder) -> dict[str, Any]:
    """The lane spec: its name, digest and text (the text is what the lane was told to do)."""
    spec = run.run.get("spec")
    name = os.path.basename(spec) if isinstance(spec, str) else ""
    content: str | None = None
    digest: str | None = None
    if isinstance(spec, str):
        try:
            with open(spec, "rb") as f:
                data = f.read(MAX_SPEC_BYTES + 1)
            if len(data) <= MAX_SPEC_BYTES:
                digest = sha256_bytes(data)
                content = data.decode("utf-8", "replace")
        except OSError:
            pass
    if digest is None:
        recorded = run.run.get("spec_sha256")
        digest = recorded if isinstance(recorded, str) else None
    return {"name": name, "sha256": digest, "content": content}


def git_identity(workdir: str | None) -> dict[str, Any] | None:
    """``{commit, dirty}`` of the lane's workdir when it is a git checkout, else None.

    Hooks and fsmonitor are switched off: the workdir belongs to the lane,
    and reading its state must not run its code.
    """
    if not workdir or not os.path.isdir(workdir):
        return None
    base = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        f"safe.directory={workdir}",
        "-C",
        workdir,
    ]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        head = subprocess.run(
            [*base, "rev-parse", "--verify", "HEAD"], capture_output=True, timeout=GIT_TIMEOUT_S, env=env, check=False
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            [*base, "status", "--porcelain"], capture_output=True, timeout=GIT_TIMEOUT_S, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": head.stdout.decode().strip(), "dirty": status.returncode != 0 or bool(status.stdout.strip())}


def lane_identity(run: RunFolder, git: dict[str, Any] | None) -> dict[str, Any]:
    """Name, kind, argv (run-folder paths made symbolic), docker image and git state of the lane."""
    argv = run.run.get("argv")
    args = [str(a) for a in argv] if isinstance(argv, list) else []
    return {
        "name": run.lane,
        "kind": _str_or_none(run.run.get("kind")),
        "argv": [_symbolic(a, run) for a in args],
        "image": _str_or_none(run.run.get("image")),
        "git": git,
    }


def _symbolic(arg: str, run: RunFolder) -> str:
    """Replace the run folder's own paths in an argument: they differ on every run, the evidence must not."""
    recorded_out = run.run.get("out_dir")
    recorded_run = run.run.get("run_dir")
    pairs = [
        (str(recorded_out) if isinstance(recorded_out, str) else None, "$VOICELANE_OUT"),
        (str(run.out_dir), "$VOICELANE_OUT"),
        (str(recorded_run) if isinstance(recorded_run, str) else None, "$VOICELANE_RUN_DIR"),
        (str(run.path), "$VOICELANE_RUN_DIR"),
        (str(run.path.resolve()), "$VOICELANE_RUN_DIR"),
    ]
    for old, new in pairs:
        if old:
            arg = arg.replace(old, new)
    return arg


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def bundle_manifest(run: RunFolder) -> dict[str, Any] | None:
    bundle = run.bundle_dir()
    doc = read_json(bundle / "manifest.json") if bundle else None
    return doc if isinstance(doc, dict) else None


def inputs_evidence(run: RunFolder) -> dict[str, Any]:
    """What the lane trained on: the dataset manifest's digest and the bundle's provenance digests."""
    declared = run.output("dataset_manifest")
    manifest_sha = file_sha256(run.resolve(declared)) if declared else None
    prov = (bundle_manifest(run) or {}).get("provenance")
    prov = prov if isinstance(prov, dict) else {}
    return {
        "dataset_manifest_sha256": manifest_sha,
        "provenance_dataset_sha256": _sha_or_none(prov.get("dataset_sha256")),
        "config_sha256": _sha_or_none(prov.get("config_sha256")),
    }


def _sha_or_none(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


def results_evidence(run: RunFolder) -> list[dict[str, str]]:
    """Every rule outcome as ``{id, code, status}`` in catalogue order (messages may carry paths)."""
    from harness.catalogue import order

    raw = run.result.get("results")
    out = [
        {"id": str(r.get("id")), "code": str(r.get("code")), "status": str(r.get("status"))}
        for r in (raw if isinstance(raw, list) else [])
        if isinstance(r, dict)
    ]
    return sorted(out, key=lambda r: (order(r["id"]), r["id"], r["code"], r["status"]))


def verdict_of(run: RunFolder) -> str:
    v = run.result.get("verdict")
    return v if v in ("PASS", "FAIL", "ERROR") else "ERROR"


def first_fail_of(run: RunFolder) -> dict[str, Any] | None:
    ff = run.result.get("first_fail")
    if not isinstance(ff, dict):
        return None
    out: dict[str, Any] = {"id": str(ff.get("id")), "code": str(ff.get("code"))}
    if ff.get("severity") in ("hard", "soft"):
        out["severity"] = ff["severity"]
    return out


def waivers_evidence(run: RunFolder, waivers: WaiverSet, today: Any) -> dict[str, Any]:
    """The lane's waivers, the file's digest, and which ones applied to a failed rule on the date given."""
    from harness.waivers import Waiver

    mine = waivers.for_lane(run.lane)
    failed = {r["id"] for r in results_evidence(run) if r["status"] in ("fail", "skip", "error")}
    applied: list[Waiver] = [w for w in mine if w.rule in failed and not w.expired(today)]
    return {
        "sha256": waivers.sha256,
        "entries": [w.to_dict() for w in mine],
        "applied": [w.to_dict() for w in applied],
    }


def stored_waivers(run_dir: Path) -> WaiverSet:
    """The waivers copy kept in the run folder (empty when the run was certified without waivers)."""
    path = run_dir / WAIVERS_COPY
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        from harness.waivers import EMPTY

        return EMPTY
    return parse_waivers(data, str(path))


def harness_evidence() -> dict[str, str]:
    """The harness version and one digest over every contract file (schemas, catalogue, grammar)."""
    import rfc8785

    from contracts import contract_files
    from harness import __version__

    listing = [{"name": name, "sha256": sha256_bytes(data)} for name, data in contract_files()]
    return {"version": __version__, "contracts_sha256": sha256_bytes(rfc8785.dumps(listing))}


def subject(run: RunFolder) -> list[dict[str, Any]]:
    """The in-toto subject: every file of the bundle (path relative to out/), else every output file.

    A run that produced nothing still needs a subject, so the spec stands in.
    """
    bundle = run.bundle_dir()
    out_dir = run.out_dir
    if bundle is not None and bundle.is_dir():
        try:
            prefix = bundle.resolve().relative_to(out_dir.resolve()).as_posix() + "/"
        except ValueError:
            prefix = "bundle/"
        files = [d for d in tree_digests(bundle) if d["kind"] == "file"]
        if files:
            return [{"name": prefix + d["path"], "digest": {"sha256": d["sha256"]}} for d in files]
    files = [d for d in tree_digests(out_dir) if d["kind"] == "file"]
    if files:
        return [{"name": d["path"], "digest": {"sha256": d["sha256"]}} for d in files]
    spec = spec_evidence(run)
    digest = spec["sha256"] or sha256_bytes(b"")
    return [{"name": "spec:" + (spec["name"] or "unknown"), "digest": {"sha256": digest}}]


def collect(
    run: RunFolder, waivers: WaiverSet, today: Any, git: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(subject, predicate) of a run: the whole of what its certificate binds."""
    evidence = {
        "spec": spec_evidence(run),
        "lane": lane_identity(run, git),
        "inputs": inputs_evidence(run),
        "outputs": tree_digests(run.out_dir),
        "results": results_evidence(run),
        "waivers": waivers_evidence(run, waivers, today),
        "harness": harness_evidence(),
    }
    predicate = {"verdict": verdict_of(run), "firstFail": first_fail_of(run), "evidence": evidence}
    return subject(run), predicate
