"""``kind = "command"``: the lane is a local argv, in its own process group.

stdin is closed (``/dev/null``) so a lane waiting for input fails at once
instead of hanging; stdout and stderr are unbuffered pipes the runner reads
concurrently.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from harness.run.adapters.base import Launch, SpawnError
from harness.run.procs import group_members, signal_group
from harness.run.spec import LaneSpec


class ProcessHandle:
    """A lane process and its group; shared by the command and docker adapters."""

    def __init__(self, launch: Launch, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.launch = launch
        if not cwd.is_dir():
            raise SpawnError(f"workdir {cwd} is not a folder")
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                bufsize=0,
            )
        except FileNotFoundError:
            raise SpawnError(f"{argv[0]}: command not found (searched PATH and {cwd})") from None
        except PermissionError:
            raise SpawnError(f"{argv[0]}: not executable (permission denied)") from None
        except OSError as exc:
            raise SpawnError(f"{argv[0]}: cannot start: {exc.strerror or exc}") from None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.stdout_fd = self.proc.stdout.fileno()
        self.stderr_fd = self.proc.stderr.fileno()
        self.pgid = self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def members(self) -> list[int]:
        return group_members(self.pgid)

    def terminate(self) -> None:
        signal_group(self.pgid, signal.SIGTERM)

    def kill(self) -> None:
        signal_group(self.pgid, signal.SIGKILL)

    def close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        if self.proc.poll() is None:
            self.kill()
            self.proc.wait()


class CommandAdapter:
    kind = "command"

    def start(self, spec: LaneSpec, out_dir: Path, env: dict[str, str]) -> ProcessHandle:
        # A relative argv[0] with a slash resolves against cwd (the workdir); a bare name against env's PATH.
        argv = list(spec.command)
        env = {**env, "VOICELANE_OUT": str(out_dir)}
        launch = Launch(argv=list(spec.command), lane_out=str(out_dir))
        return ProcessHandle(launch, argv, spec.workdir, env)
