"""Opening untrusted relative paths without ever leaving a root.

Paths named by a lane (bundle files, dataset audio, artifacts) are resolved
component by component with ``openat``-style calls and ``O_NOFOLLOW``: a
symbolic link anywhere on the way is refused, ``..`` is refused before any
system call, and FIFOs or devices are opened non-blocking and rejected, so a
hostile tree can neither make us read outside it nor hang us.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

_O_FINAL = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_O_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_DIRECTORY


class PathEscape(ValueError):
    """The path could name something outside the root."""


class SymlinkRefused(OSError):
    """A component of the path is a symbolic link."""


class NotRegularFile(OSError):
    """The path names a folder, FIFO, socket or device, not a regular file."""


def normalize_relpath(path: str) -> str:
    """``path`` as ``a/b/c`` relative to a root, or ``PathEscape`` saying why it cannot be.

    Refuses absolute paths, ``..`` components, NUL bytes and backslashes
    (``a\\..\\b`` escapes on the platforms that read it as a separator).
    """
    if not path:
        raise PathEscape("empty path")
    if "\x00" in path:
        raise PathEscape("path contains a NUL byte")
    if "\\" in path:
        raise PathEscape("path contains a backslash")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise PathEscape("absolute path")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathEscape("path contains '..'")
    if not parts:
        raise PathEscape("path names the root itself")
    return "/".join(parts)


@contextmanager
def open_root(root: str | os.PathLike[str]) -> Iterator[int]:
    """An fd for the root folder (the caller chose it, so links to it are followed)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def open_under(root_fd: int, relpath: str) -> int:
    """Open ``relpath`` (already normalized) under ``root_fd`` read-only; return a regular file's fd.

    Raises ``FileNotFoundError``, ``SymlinkRefused`` or ``NotRegularFile``.
    """
    parts = relpath.split("/")
    opened: list[int] = []
    cur = root_fd
    try:
        for comp in parts[:-1]:
            cur = _open_component(comp, cur, _O_DIR)
            opened.append(cur)
        fd = _open_component(parts[-1], cur, _O_FINAL)
    finally:
        for d in opened:
            os.close(d)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFile(f"{relpath} is not a regular file")
    return fd


def _open_component(name: str, dir_fd: int, flags: int) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if _is_link(name, dir_fd):
            raise SymlinkRefused(f"{name} is a symbolic link") from None
        if exc.errno in (20,):  # ENOTDIR: a file where a folder was expected
            raise FileNotFoundError(f"{name} is not a folder") from None
        raise


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def walk_tree(root: str | os.PathLike[str], limit: int = 100_000) -> Iterator[tuple[str, str]]:
    """Every entry under ``root`` as ``(relpath, kind)`` with kind ``file|dir|link|other``.

    Links are reported, never followed. Stops after ``limit`` entries.
    """
    count = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > limit:
                return
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                yield rel, "link"
            elif entry.is_dir(follow_symlinks=False):
                yield rel, "dir"
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False):
                yield rel, "file"
            else:
                yield rel, "other"
