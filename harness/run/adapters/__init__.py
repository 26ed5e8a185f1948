"""Lane adapters: how a lane is started and stopped, one module per kind.

The runner only sees the ``Adapter`` / ``LaneHandle`` protocols of
``base``, so an http or cluster adapter plugs in without touching it.
"""

from __future__ import annotations

from harness.run.adapters.base import Adapter, LaneHandle, SpawnError


def adapter_for(kind: str) -> Adapter:
    """The adapter for a spec's ``kind`` (the schema already limits the kinds)."""
    if kind == "command":
        from harness.run.adapters.command import CommandAdapter

        return CommandAdapter()
    if kind == "docker":
        from harness.run.adapters.docker import DockerAdapter

        return DockerAdapter()
    raise ValueError(f"no adapter for lane kind {kind!r}")


__all__ = ["Adapter", "LaneHandle", "SpawnError", "adapter_for"]
