"""Verifiers: each checks one file, folder or log against its contract.

Every verifier returns ``list[Result]`` with one outcome per rule of its
scope, in catalogue order, and never raises on bad input. The four are
loaded on first use, so a command that needs one does not import the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.verify.bundle import verify_bundle
    from harness.verify.dataset import verify_dataset
    from harness.verify.log import verify_log
    from harness.verify.status import verify_status

_HOMES = {
    "verify_bundle": "harness.verify.bundle",
    "verify_dataset": "harness.verify.dataset",
    "verify_log": "harness.verify.log",
    "verify_status": "harness.verify.status",
}

__all__ = ["verify_bundle", "verify_dataset", "verify_log", "verify_status"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'harness.verify' has no attribute {name!r}")
