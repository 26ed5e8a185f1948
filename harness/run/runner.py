"""Supervise one attempt of a lane: read its output live, enforce the clocks, leave nothing running.

One thread does everything with ``selectors``: it reads stdout and stderr as
they become readable (so neither pipe can fill and deadlock the lane), feeds
stdout to the streaming protocol parser, and checks the timeout and stall
clocks between reads. Memory is one read chunk plus the parser's line cap,
whatever the lane prints.

Stopping: SIGTERM to the lane's process group, SIGKILL after the grace
period. When the main process exits while others of its group live on (an
orphaned grandchild), they are recorded and stopped the same way.
"""

from __future__ import annotations

import os
import selectors
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.protocol import Progress, ProtocolParser
from harness.run.adapters.base import Adapter, LaneHandle, Launch, SpawnError
from harness.run.live import LiveView
from harness.run.logs import CappedLog
from harness.run.spec import LaneSpec
from harness.run.transcript import FILE as EVENTS_FILE
from harness.run.transcript import TranscriptWriter

READ_BYTES = 1 << 18
POLL_S = 0.05
#: After the main process exits, how long the rest of its group may take to end by itself.
ORPHAN_GRACE_S = 0.3
#: After SIGKILL, how long to wait for the pipes to close before giving up on them.
DRAIN_AFTER_KILL_S = 2.0
MAX_ARTIFACTS = 10_000


@dataclass(slots=True)
class Attempt:
    """Everything one attempt produced, as plain data for the checks."""

    index: int
    dir: Path
    out_dir: Path
    launch: Launch | None = None
    spawn_error: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    stalled: bool = False
    orphans: list[int] = field(default_factory=list)
    escaped_pipes: bool = False
    started_at: str = ""
    finished_at: str = ""
    duration_s: float = 0.0
    parser: ProtocolParser | None = None
    artifacts: list[tuple[int, str]] = field(default_factory=list)
    artifacts_dropped: int = 0
    stats: dict[str, Any] = field(default_factory=dict)  # latest value of each gated STATS key
    stdout_bytes: int = 0
    stderr_bytes: int = 0

    @property
    def clean_exit(self) -> bool:
        return self.spawn_error is None and self.exit_code == 0 and not (self.timed_out or self.stalled)

    @property
    def last_progress(self) -> Progress | None:
        return self.parser.last_progress if self.parser else None


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lane_env(spec: LaneSpec) -> dict[str, str]:
    """The host environment plus the spec's ``[env]``, unbuffered Python, no inherited VOICELANE_OUT."""
    env = {k: v for k, v in os.environ.items() if k != "VOICELANE_OUT"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(spec.env)
    return env


def execute(spec: LaneSpec, adapter: Adapter, attempt_dir: Path, index: int, view: LiveView) -> Attempt:
    """Run the lane once in ``attempt_dir`` (``out/``, logs and ``events.jsonl`` go there)."""
    out_dir = attempt_dir / "out"
    out_dir.mkdir(parents=True)
    attempt = Attempt(index=index, dir=attempt_dir, out_dir=out_dir)
    attempt.parser = ProtocolParser(spec.max_line)
    attempt.started_at = _utc_now()
    t0 = time.monotonic()
    stdout_log = CappedLog(attempt_dir / "stdout.log", spec.log_cap_bytes)
    stderr_log = CappedLog(attempt_dir / "stderr.log", spec.log_cap_bytes)
    transcript = TranscriptWriter(attempt_dir / EVENTS_FILE)
    try:
        try:
            handle = adapter.start(spec, out_dir, lane_env(spec))
        except SpawnError as exc:
            attempt.spawn_error = str(exc)
            view.close(time.monotonic() - t0, f"could not start: {exc}")
            return attempt
        attempt.launch = handle.launch
        try:
            _supervise(spec, handle, attempt, t0, stdout_log, stderr_log, transcript, view)
        finally:
            handle.close()
        outcome = _outcome(attempt)
        view.close(time.monotonic() - t0, outcome)
    finally:
        attempt.duration_s = round(time.monotonic() - t0, 3)
        attempt.finished_at = _utc_now()
        attempt.stdout_bytes, attempt.stderr_bytes = stdout_log.total, stderr_log.total
        stdout_log.close()
        stderr_log.close()
        transcript.close()
        attempt.parser.close()
    return attempt


def _outcome(a: Attempt) -> str:
    if a.timed_out:
        return "timed out"
    if a.stalled:
        return "stalled"
    if a.signal is not None:
        return f"killed by signal {a.signal}"
    return f"exited {a.exit_code}"


class _Stopper:
    """SIGTERM, then SIGKILL once the grace period has passed."""

    def __init__(self, handle: LaneHandle, grace: float) -> None:
        self.handle = handle
        self.grace = grace
        self.term_at: float | None = None
        self.kill_at: float | None = None

    def stop(self, now: float) -> None:
        if self.term_at is None:
            self.term_at = now
            self.handle.terminate()
        elif self.kill_at is None and now - self.term_at >= self.grace:
            self.kill_at = now
            self.handle.kill()


def _supervise(
    spec: LaneSpec,
    handle: LaneHandle,
    attempt: Attempt,
    t0: float,
    stdout_log: CappedLog,
    stderr_log: CappedLog,
    transcript: TranscriptWriter,
    view: LiveView,
) -> None:
    parser = attempt.parser
    assert parser is not None
    gated = tuple(gate.name for gate in spec.metrics)
    sel = selectors.DefaultSelector()
    sel.register(handle.stdout_fd, selectors.EVENT_READ, "stdout")
    sel.register(handle.stderr_fd, selectors.EVENT_READ, "stderr")
    open_fds = 2
    stopper = _Stopper(handle, spec.kill_grace_s)
    last_output = t0
    exited_at: float | None = None
    next_scan = 0.0
    members: list[int] = []
    while True:
        for key, _ in sel.select(POLL_S if open_fds else 0):
            data = os.read(key.fd, READ_BYTES)
            if not data:
                sel.unregister(key.fd)
                open_fds -= 1
                continue
            now = time.monotonic()
            last_output = now
            if key.data == "stderr":
                stderr_log.write(data)
                continue
            stdout_log.write(data)
            events = parser.feed(data)
            if events:
                transcript.write(events, now - t0)
                _absorb(attempt, events, view, gated)
        now = time.monotonic()
        elapsed = now - t0
        view.tick(elapsed)
        if exited_at is None:
            rc = handle.poll()
            if rc is not None:
                exited_at = now
                _record_exit(attempt, rc)
            elif attempt.timed_out or attempt.stalled:
                stopper.stop(now)
            elif elapsed > spec.timeout_s:
                attempt.timed_out = True
                stopper.stop(now)
            elif now - last_output > spec.stall_timeout_s:
                attempt.stalled = True
                stopper.stop(now)
            continue
        # The main process is gone: wait for the rest of the group, then stop it.
        if now >= next_scan:
            members = handle.members()
            next_scan = now + 0.1
        if members:
            if stopper.kill_at is not None and now - stopper.kill_at > DRAIN_AFTER_KILL_S:
                break  # unkillable (uninterruptible sleep): give up rather than hang the harness
            if stopper.term_at is None and now - exited_at < ORPHAN_GRACE_S:
                continue
            if not attempt.orphans and not (attempt.timed_out or attempt.stalled):
                attempt.orphans = sorted(members)
            stopper.stop(now)
            continue
        if not open_fds:
            break
        # Nobody of the group lives, yet a pipe is open: a process escaped the group. Stop waiting.
        if now - exited_at > max(ORPHAN_GRACE_S, DRAIN_AFTER_KILL_S):
            attempt.escaped_pipes = True
            break
    sel.close()
    events = parser.close()
    if events:
        transcript.write(events, time.monotonic() - t0)
        _absorb(attempt, events, view, gated)


def _record_exit(attempt: Attempt, rc: int) -> None:
    if rc < 0:
        attempt.signal = -rc
        attempt.exit_code = None
    else:
        attempt.exit_code = rc


def _absorb(attempt: Attempt, events: list[Any], view: LiveView, gated: tuple[str, ...]) -> None:
    """Keep what the checks need from the events: artifacts, the latest value of each gated STATS key.

    Runs once per stdout chunk over its events, so it only looks at what it must.
    """
    loss: float | None = None
    stats = attempt.stats
    for event in events:
        kind = event.kind
        if kind == "stats":
            payload = event.payload
            if gated:
                for key in gated:
                    if key in payload:
                        stats[key] = payload[key]
            value = payload.get("loss")
            if type(value) is float or type(value) is int:
                loss = float(value)
        elif kind == "artifact":
            if len(attempt.artifacts) < MAX_ARTIFACTS:
                attempt.artifacts.append((event.line, event.path))
            else:
                attempt.artifacts_dropped += 1
    view.update(attempt.parser.last_progress if attempt.parser else None, loss)
