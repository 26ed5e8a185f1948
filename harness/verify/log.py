"""A finished protocol log (a file or stdin), judged by the streaming parser."""

from __future__ import annotations

import os
from typing import BinaryIO

from harness.catalogue import Checklist
from harness.protocol import DEFAULT_MAX_LINE, ProtocolParser
from harness.results import Result

READ_BYTES = 1 << 18


def verify_log(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    allow_incomplete: bool = False,
    max_line: int = DEFAULT_MAX_LINE,
) -> list[Result]:
    """Parse the whole log in bounded reads; judge it as a finished successful run
    unless ``allow_incomplete``."""
    location = getattr(source, "name", None) or str(source)
    if isinstance(source, (str, os.PathLike)):
        location = str(source)
        try:
            with open(source, "rb") as stream:
                return _parse(stream, location, allow_incomplete, max_line)
        except OSError as exc:
            checks = Checklist("protocol", location)
            for rid in ("PROTO-grammar",):
                checks.error(rid, f"cannot read {location}: {exc.strerror or exc}")
            checks.skip_rest("the log could not be read")
            return checks.results()
    return _parse(source, str(location), allow_incomplete, max_line)


def _parse(stream: BinaryIO, location: str, allow_incomplete: bool, max_line: int) -> list[Result]:
    parser = ProtocolParser(max_line, keep_events=False)
    while chunk := stream.read(READ_BYTES):
        parser.feed(chunk)
    return parser.results(success=not allow_incomplete, location=location)
