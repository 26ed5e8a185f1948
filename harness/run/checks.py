"""Judge an attempt: the LANE rules, and the protocol/status/dataset/bundle verifiers over its outputs.

Each check reads only the ``Attempt`` record and the files in its output
dir. A failed run is still judged, but only for what a failed run owes: its
protocol as an unfinished stream, its train_status (a lane writes one on
failure too), and its artifacts; the bundle and dataset are not expected.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.catalogue import Checklist
from harness.results import Result
from harness.run.runner import Attempt
from harness.run.spec import LaneSpec
from harness.safepaths import NotRegularFile, PathEscape, SymlinkRefused, normalize_relpath, open_root, open_under
from harness.verify import verify_bundle, verify_dataset, verify_status
from harness.verify.status import load_status

#: (status, message) of a check computed elsewhere (determinism, snapshot): status is pass|fail|skip.
Outcome = tuple[str, str]


def output_path(attempt: Attempt, spec: LaneSpec, key: str) -> Path | None:
    rel = spec.outputs.get(key)
    return attempt.out_dir / rel if rel else None


def verifier_results(spec: LaneSpec, attempt: Attempt) -> list[Result]:
    """Protocol results over the live stream, then each declared output through its verifier."""
    if attempt.parser is None or attempt.spawn_error is not None:
        return _skipped("protocol", "the lane did not start") + [
            r for scope in ("status", "dataset", "bundle") for r in _skipped(scope, "the lane did not start")
        ]
    results = attempt.parser.results(success=attempt.clean_exit, location="stdout")
    results += _output(spec, attempt, "train_status", "status", lambda p: verify_status(p, root=attempt.out_dir))
    root = spec.dataset_root
    results += _output(spec, attempt, "dataset_manifest", "dataset", lambda p: verify_dataset(p, root=root))
    results += _output(spec, attempt, "bundle", "bundle", verify_bundle)
    return results


def _skipped(scope: str, reason: str) -> list[Result]:
    checks = Checklist(scope)
    checks.skip_rest(reason)
    return checks.results()


def _output(
    spec: LaneSpec, attempt: Attempt, key: str, scope: str, verify: Callable[[Path], list[Result]]
) -> list[Result]:
    path = output_path(attempt, spec, key)
    if path is None:
        return _skipped(scope, f"the lane spec declares no {key} output")
    if key != "train_status" and not attempt.clean_exit:
        return _skipped(scope, f"the lane did not finish cleanly, so no {key} is expected")
    if not os.path.lexists(path):
        return _skipped(scope, f"the declared {key} is missing (see LANE-output-present)")
    return verify(path)


def lane_results(
    spec: LaneSpec, attempt: Attempt, determinism: Outcome, snapshot: Outcome, status_valid: bool
) -> list[Result]:
    """One result per LANE rule, in catalogue order."""
    checks = Checklist("lane", "run")
    if attempt.spawn_error is not None:
        checks.fail("LANE-spawn", attempt.spawn_error, "command")
        checks.skip_rest("the lane did not start")
        return checks.results()
    checks.checked("LANE-spawn")
    status = _status_doc(spec, attempt) if status_valid else None
    _check_process(spec, attempt, status, checks)
    _check_artifacts(attempt, checks)
    _check_outputs(spec, attempt, checks)
    _check_status(spec, attempt, status, status_valid, checks)
    for rule_id, (state, message) in (("LANE-determinism", determinism), ("LANE-snapshot", snapshot)):
        _apply(checks, rule_id, state, message)
    _check_metrics(spec, attempt, status, checks)
    return checks.results()


def _apply(checks: Checklist, rule_id: str, state: str, message: str) -> None:
    if state == "fail":
        checks.fail(rule_id, message)
    elif state == "skip":
        checks.skip(rule_id, message)
    elif state == "error":
        checks.error(rule_id, message)
    else:
        checks.checked(rule_id)


def _status_doc(spec: LaneSpec, attempt: Attempt) -> dict[str, Any] | None:
    path = output_path(attempt, spec, "train_status")
    return load_status(path) if path is not None else None


def _check_process(spec: LaneSpec, attempt: Attempt, status: dict[str, Any] | None, checks: Checklist) -> None:
    if attempt.timed_out:
        checks.fail(
            "LANE-timeout",
            f"still running after timeout_s = {spec.timeout_s:g} s; stopped it (SIGTERM, "
            f"then SIGKILL after {spec.kill_grace_s:g} s)",
        )
    checks.checked("LANE-timeout")
    if attempt.stalled:
        checks.fail("LANE-stalled", f"printed nothing for stall_timeout_s = {spec.stall_timeout_s:g} s; stopped it")
    checks.checked("LANE-stalled")
    if attempt.timed_out or attempt.stalled:
        checks.skip("LANE-exit", "the harness stopped the lane")
    elif attempt.exit_code != 0:
        how = f"killed by signal {attempt.signal}" if attempt.signal is not None else f"exit status {attempt.exit_code}"
        error = (status or {}).get("error")
        if isinstance(error, dict) and error.get("code"):
            how += f"; train_status error.code = {error['code']}: {error.get('message', '')}"
        checks.fail("LANE-exit", f"the lane failed: {how}")
    else:
        checks.checked("LANE-exit")
    if attempt.orphans:
        pids = ", ".join(map(str, attempt.orphans[:10]))
        checks.fail(
            "LANE-orphans",
            f"{len(attempt.orphans)} process(es) of the lane still ran after it exited (pid {pids}); stopped them",
        )
    if attempt.escaped_pipes:
        checks.fail("LANE-orphans", "a process that left the lane's process group kept its stdout/stderr open")
    checks.checked("LANE-orphans")


def artifact_relpath(attempt: Attempt, path: str) -> str:
    """An ARTIFACT path as a path relative to the output dir; ``PathEscape`` when it leaves it."""
    if path.startswith("/"):
        lane_out = (attempt.launch.lane_out if attempt.launch else "") or str(attempt.out_dir)
        prefix = lane_out.rstrip("/") + "/"
        if not path.startswith(prefix):
            raise PathEscape(f"absolute path outside VOICELANE_OUT ({lane_out})")
        path = path[len(prefix) :]
    return normalize_relpath(path)


def announced(attempt: Attempt) -> set[str]:
    out: set[str] = set()
    for _, path in attempt.artifacts:
        try:
            out.add(artifact_relpath(attempt, path))
        except PathEscape:
            continue
    return out


def _check_artifacts(attempt: Attempt, checks: Checklist) -> None:
    with open_root(attempt.out_dir) as root_fd:
        for line, path in attempt.artifacts:
            where = f"stdout:{line}"
            try:
                rel = artifact_relpath(attempt, path)
                fd = open_under(root_fd, rel)
            except PathEscape as exc:
                checks.fail("LANE-artifact-escape", f"ARTIFACT {path!r} leaves the output dir: {exc}", where)
                continue
            except SymlinkRefused:
                checks.fail("LANE-artifact-escape", f"ARTIFACT {path!r} goes through a symbolic link", where)
                continue
            except NotRegularFile:
                continue  # a folder (a bundle) or another existing entry
            except OSError:
                checks.fail("LANE-artifact-exists", f"ARTIFACT {path!r} does not exist after the run", where)
                continue
            os.close(fd)
    if attempt.artifacts_dropped:
        checks.skip(
            "LANE-artifact-exists", f"{attempt.artifacts_dropped} ARTIFACT lines past the first were not checked"
        )
    checks.checked("LANE-artifact-escape", "LANE-artifact-exists")


def _check_outputs(spec: LaneSpec, attempt: Attempt, checks: Checklist) -> None:
    for key in ("train_status", "dataset_manifest", "bundle"):
        path = output_path(attempt, spec, key)
        if path is None or (key != "train_status" and not attempt.clean_exit):
            continue
        ok = path.is_dir() if key == "bundle" else path.is_file()
        if not ok and not path.is_symlink():
            checks.fail(
                "LANE-output-present", f"declared {key} {spec.outputs[key]} is missing", f"out/{spec.outputs[key]}"
            )
    checks.checked("LANE-output-present")


def _check_status(
    spec: LaneSpec, attempt: Attempt, doc: dict[str, Any] | None, status_valid: bool, checks: Checklist
) -> None:
    if "train_status" not in spec.outputs:
        checks.skip("LANE-status-consistent", "the lane spec declares no train_status output")
        return
    if doc is None or not status_valid:
        checks.skip("LANE-status-consistent", "train_status is missing or invalid (see LANE-output-present, STATUS-*)")
        return
    where = f"out/{spec.outputs['train_status']}"
    state = doc["state"]
    if not (attempt.timed_out or attempt.stalled):
        if attempt.exit_code == 0 and state != "completed":
            checks.fail("LANE-status-consistent", f"the lane exited 0 but train_status state is {state!r}", where)
        elif attempt.exit_code != 0 and state == "completed":
            checks.fail("LANE-status-consistent", "train_status says completed but the lane failed", where)
    progress, last = doc.get("progress"), attempt.last_progress
    if progress and last and (progress["current"], progress["total"]) != (last.current, last.total):
        checks.fail(
            "LANE-status-consistent",
            f"train_status progress is {progress['current']}/{progress['total']} but the last PROGRESS line "
            f"(stdout:{last.line}) says {last.current}/{last.total}",
            where,
        )
    seen = announced(attempt)
    for i, raw in enumerate(doc.get("artifacts", [])):
        try:
            rel = normalize_relpath(raw)
        except PathEscape:
            continue  # STATUS-artifacts-exist reports it
        if rel not in seen and not any(rel.startswith(a + "/") for a in seen):
            checks.fail("LANE-status-consistent", f"train_status lists {raw!r}, never announced with ARTIFACT", where)
            if i > 50:
                break
    checks.checked("LANE-status-consistent")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check_metrics(spec: LaneSpec, attempt: Attempt, status: dict[str, Any] | None, checks: Checklist) -> None:
    if not spec.metrics:
        for rule_id in ("LANE-metric-present", "LANE-metric-bounds"):
            checks.skip(rule_id, "the lane spec gates no metrics")
        return
    if not attempt.clean_exit:
        for rule_id in ("LANE-metric-present", "LANE-metric-bounds"):
            checks.skip(rule_id, "the lane did not finish cleanly")
        return
    status_stats = (status or {}).get("stats")
    sources = [("train_status stats", status_stats if isinstance(status_stats, dict) else {}), ("STATS", attempt.stats)]
    for gate in spec.metrics:
        found = next(((src, stats[gate.name]) for src, stats in sources if gate.name in stats), None)
        value = _number(found[1]) if found else None
        if found is None or value is None:
            why = "is not reported" if found is None else f"is {found[1]!r}, not a number"
            checks.fail("LANE-metric-present", f"metric {gate.name} {why} (gated in [expect.metrics])")
            continue
        if gate.min is not None and value < gate.min:
            checks.fail("LANE-metric-bounds", f"{gate.name} = {value:g} ({found[0]}) is under min {gate.min:g}")
        if gate.max is not None and value > gate.max:
            checks.fail("LANE-metric-bounds", f"{gate.name} = {value:g} ({found[0]}) is over max {gate.max:g}")
    checks.checked("LANE-metric-present", "LANE-metric-bounds")
