"""Size-capped copies of a lane's stdout and stderr in the run folder.

The cap bounds disk, not memory (memory is one read chunk whatever the
lane prints); bytes past the cap are counted and a marker line records them.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO


class CappedLog:
    def __init__(self, path: Path, cap: int) -> None:
        self._f: BinaryIO = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed by close()
        self.cap = cap
        self.kept = 0
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - self.kept
        if room > 0:
            chunk = data[:room] if len(data) > room else data
            self._f.write(chunk)
            self.kept += len(chunk)

    def close(self) -> None:
        if self.total > self.kept:
            self._f.write(
                f"\n[voicelane: log capped at {self.cap} bytes; {self.total - self.kept} bytes dropped]\n".encode()
            )
        self._f.close()
