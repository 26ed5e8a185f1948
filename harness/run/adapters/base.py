"""The adapter interface every lane kind implements.

A lane, whatever runs it, is two byte streams (stdout, stderr), a way to
ask whether it finished, and two ways to stop it (politely, then not). The
runner owns the clock and the judgement; adapters only start and stop.
An http adapter would expose the service's log stream as ``stdout_fd`` (a
pipe fed by a thread) and map terminate/kill to the service's cancel call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.run.spec import LaneSpec


class SpawnError(Exception):
    """The lane could not be started (missing executable, not executable, no workdir)."""


@dataclass(frozen=True, slots=True)
class Launch:
    """What an adapter decided to run, recorded in result.json."""

    argv: list[str]
    image: str | None = None
    lane_out: str = ""  # the VOICELANE_OUT the lane sees (a container path under docker)
    extra: dict[str, Any] = field(default_factory=dict)


class LaneHandle(Protocol):
    """A started lane."""

    launch: Launch
    stdout_fd: int
    stderr_fd: int

    def poll(self) -> int | None:
        """The exit status once the lane's main process ended (negative: killed by that signal)."""

    def members(self) -> list[int]:
        """Processes of the lane still alive (its process group, or its container)."""

    def terminate(self) -> None:
        """Ask every process of the lane to stop (SIGTERM)."""

    def kill(self) -> None:
        """Stop every process of the lane now (SIGKILL)."""

    def close(self) -> None:
        """Release descriptors and reap; called once, after the lane is gone."""


class Adapter(Protocol):
    kind: str

    def start(self, spec: LaneSpec, out_dir: Path, env: dict[str, str]) -> LaneHandle:
        """Start the lane writing into ``out_dir``; ``env`` is the full host environment to give it.

        Raises ``SpawnError`` when the lane cannot start.
        """
