"""Process-group bookkeeping: who of a lane is still alive, and stopping them all.

A lane runs in its own session (``start_new_session``), so its process
group id is its pid and every child it forks inherits the group. Liveness is
read from ``/proc`` where there is one, because ``killpg(pgid, 0)`` also
counts zombies that nobody has reaped yet.
"""

from __future__ import annotations

import contextlib
import os
import signal


def group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    alive: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            alive.append(int(name))
    return alive


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the whole group; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
