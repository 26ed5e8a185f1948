"""``kind = "docker"``: ``docker run --rm`` with the output dir mounted.

The container gets a unique name so a timeout can ``docker kill`` it: killing
the local ``docker`` client alone would leave the container running. The
lane sees ``VOICELANE_OUT`` as the mount point inside the container, and
runs as the calling user so its outputs are not owned by root.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

from harness.run.adapters.base import Launch, SpawnError
from harness.run.adapters.command import ProcessHandle
from harness.run.spec import LaneSpec

CONTAINER_OUT = "/voicelane/out"
DOCKER_CLI_TIMEOUT_S = 20.0


class DockerHandle(ProcessHandle):
    def __init__(self, launch: Launch, argv: list[str], cwd: Path, env: dict[str, str], name: str) -> None:
        super().__init__(launch, argv, cwd, env)
        self.container = name
        self._env = env

    def _docker(self, *args: str) -> None:
        # Best effort: the client's process group is signalled anyway.
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                ["docker", *args],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=DOCKER_CLI_TIMEOUT_S,
                check=False,
            )

    def terminate(self) -> None:
        self._docker("kill", "--signal", "TERM", self.container)
        super().terminate()

    def kill(self) -> None:
        self._docker("kill", self.container)
        super().kill()


class DockerAdapter:
    kind = "docker"

    def start(self, spec: LaneSpec, out_dir: Path, env: dict[str, str]) -> DockerHandle:
        assert spec.image is not None  # the schema requires it for docker lanes
        name = f"voicelane-{spec.name}-{uuid.uuid4().hex[:12]}"
        argv = ["docker", "run", "--rm", "--name", name, "--user", f"{os.getuid()}:{os.getgid()}"]
        argv += ["--volume", f"{out_dir}:{CONTAINER_OUT}", "--env", f"VOICELANE_OUT={CONTAINER_OUT}"]
        argv += ["--env", "PYTHONUNBUFFERED=1"]
        for key, value in spec.env.items():
            argv += ["--env", f"{key}={value}"]
        argv += [spec.image, *spec.command]
        launch = Launch(argv=argv, image=spec.image, lane_out=CONTAINER_OUT, extra={"container": name})
        try:
            return DockerHandle(launch, argv, spec.workdir, env, name)
        except SpawnError as exc:
            if "command not found" in str(exc):
                raise SpawnError("docker: command not found (docker lanes need the docker CLI and an engine)") from None
            raise
