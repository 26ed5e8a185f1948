"""What ``voicelane run`` and ``voicelane report`` add for CI: ``--junit FILE`` and GitHub Actions output.

Kept apart from the commands so each needs one call: the JUnit file is
written when asked for, the GitHub summary and annotations appear only when
``GITHUB_ACTIONS=true``. Annotations go to stdout, where the runner reads
workflow commands, except with ``--format json``, whose stdout must stay one
JSON document; then they go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any


def run_outputs(doc: Mapping[str, Any], junit: str | None, fmt: str = "text") -> None:
    """After ``voicelane run`` wrote ``result.json``."""
    from harness import github

    if junit:
        from harness.junit import write_run

        print(f"wrote junit: {write_run(junit, doc)}", file=sys.stderr)
    github.publish_run(doc, sys.stderr if fmt == "json" else sys.stdout)


def report_outputs(doc: Mapping[str, Any], junit: str | None, certificate: str = "") -> None:
    """After ``voicelane report`` decided GO / NO-GO."""
    from harness import github

    if junit:
        from harness.junit import write_report

        print(f"wrote junit: {write_report(junit, doc)}", file=sys.stderr)
    github.publish_report(doc, sys.stdout, certificate)
