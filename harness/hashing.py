"""Streaming SHA-256: fixed-size chunks into one reused buffer, several files at once.

hashlib releases the GIL while it digests, so a thread per file uses every
core; memory stays at one chunk per worker whatever the file sizes.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

CHUNK_BYTES = 1 << 20

T = TypeVar("T")
R = TypeVar("R")


def sha256_fd(fd: int) -> tuple[str, int]:
    """(hex digest, bytes read) of an open file, from its current offset."""
    digest = hashlib.sha256()
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    total = 0
    with io.FileIO(fd, "rb", closefd=False) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            total += n
    return digest.hexdigest(), total


def sha256_path(path: str | os.PathLike[str]) -> tuple[str, int]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return sha256_fd(fd)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def parallel_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a small thread pool, results in input order."""
    items = list(items)
    if len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers(), len(items))) as pool:
        return list(pool.map(fn, items))
