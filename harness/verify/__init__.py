"""Verifiers: each checks one file, folder or log against its contract.

Every verifier returns ``list[Result]`` with one outcome per rule of its
scope, in catalogue order, and never raises on bad input.
"""

from harness.verify.bundle import verify_bundle
from harness.verify.dataset import verify_dataset
from harness.verify.log import verify_log
from harness.verify.status import verify_status

__all__ = ["verify_bundle", "verify_dataset", "verify_log", "verify_status"]
