"""Live progress on stderr while a lane runs; stdout stays for the final result.

On a terminal: a rich progress bar (phase, current/total, last STATS loss,
elapsed). Otherwise (CI logs, pipes): one plain line every few seconds, so a
log shows the lane is alive without one line per PROGRESS. The runner calls
``update`` per stdout chunk (cheap: it only stores) and ``tick`` from its
loop; the view redraws at most a few times a second.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Protocol, TextIO

from harness.protocol import Progress

PLAIN_EVERY_S = float(os.environ.get("VOICELANE_PROGRESS_EVERY", "10"))
RICH_EVERY_S = 0.25


class LiveView(Protocol):
    def update(self, progress: Progress | None, loss: float | None) -> None: ...

    def tick(self, elapsed: float) -> None: ...

    def close(self, elapsed: float, outcome: str) -> None: ...


class _Base:
    def __init__(self, name: str) -> None:
        self.name = name
        self.progress: Progress | None = None
        self.loss: float | None = None

    def update(self, progress: Progress | None, loss: float | None) -> None:
        if progress is not None:
            self.progress = progress
        if loss is not None:
            self.loss = loss

    def _text(self, elapsed: float) -> str:
        p = self.progress
        where = f"phase {p.phase} {p.current}/{p.total}" if p else "starting"
        loss = f" loss {self.loss:.4g}" if self.loss is not None else ""
        return f"{where}{loss} elapsed {elapsed:.1f}s"


class PlainView(_Base):
    """A line every ``PLAIN_EVERY_S`` seconds."""

    def __init__(self, name: str, stream: TextIO) -> None:
        super().__init__(name)
        self.stream = stream
        self._next = PLAIN_EVERY_S

    def tick(self, elapsed: float) -> None:
        if elapsed >= self._next:
            self._next = elapsed + PLAIN_EVERY_S
            self.stream.write(f"[{self.name}] {self._text(elapsed)}\n")
            self.stream.flush()

    def close(self, elapsed: float, outcome: str) -> None:
        self.stream.write(f"[{self.name}] {outcome} after {elapsed:.1f}s\n")
        self.stream.flush()


class RichView(_Base):
    """A rich progress bar on the terminal."""

    def __init__(self, name: str, stream: TextIO) -> None:
        super().__init__(name)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._bar.add_task(f"{name} starting", total=None, loss="")
        self._bar.start()
        self._last = 0.0

    def tick(self, elapsed: float) -> None:
        now = time.monotonic()
        if now - self._last < RICH_EVERY_S:
            return
        self._last = now
        p = self.progress
        fields: dict[str, Any] = {"loss": f"loss {self.loss:.4g}" if self.loss is not None else ""}
        if p is not None:
            self._bar.update(
                self._task, description=f"{self.name} phase {p.phase}", completed=p.current, total=p.total, **fields
            )
        else:
            self._bar.update(self._task, **fields)

    def close(self, elapsed: float, outcome: str) -> None:
        self._last = 0.0
        self.tick(elapsed)
        self._bar.stop()
        self._bar.console.print(f"[{self.name}] {outcome} after {elapsed:.1f}s")


def live_view(name: str, stream: TextIO | None = None) -> LiveView:
    stream = stream or sys.stderr
    if stream.isatty() and os.environ.get("TERM") != "dumb":
        return RichView(name, stream)
    return PlainView(name, stream)
