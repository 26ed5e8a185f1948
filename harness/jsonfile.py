"""Strict, bounded reading of JSON documents a lane wrote.

Untrusted JSON is read with a size cap, rejects NaN/Infinity (not JSON) and
duplicate object keys (two readers could disagree on which one wins).
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

#: Largest JSON document the harness reads into memory.
MAX_JSON_BYTES = 64 * 1024 * 1024


class JsonFileError(Exception):
    """The document is not strict JSON; the message says why, for a person."""


def _no_constants(name: str) -> Any:
    raise JsonFileError(f"{name} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JsonFileError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def loads_strict(text: str | bytes) -> Any:
    """Parse strict JSON; raise ``JsonFileError`` with a readable reason."""
    try:
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except JsonFileError:
        raise
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonFileError("nested too deeply") from None


def read_fd(fd: int, limit: int = MAX_JSON_BYTES) -> bytes:
    """Read at most ``limit`` bytes from an open fd; raise if the file is larger."""
    size = os.fstat(fd).st_size
    if size > limit:
        raise JsonFileError(f"{size} bytes is larger than the {limit}-byte limit")
    chunks = []
    total = 0
    while chunk := os.read(fd, 1 << 20):
        total += len(chunk)
        if total > limit:
            raise JsonFileError(f"larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def read_json_file(path: str | os.PathLike[str]) -> Any | None:
    """A JSON file a lane wrote, read strictly, or None when it is absent, not a regular
    file (a link as the last component, a FIFO) or not strict JSON."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return loads_strict(read_fd(fd))
    except (JsonFileError, OSError):
        return None
    finally:
        os.close(fd)
