"""``--repeat N``: do N runs of the same lane give the same results?

Compared, attempt 1 against each other attempt: the protocol transcript
(time dropped, volatile STATS keys masked) and every file of the bundle (or
of the whole output dir when the spec declares no bundle). ``bitwise``
requires equal bytes; ``tolerant`` allows numbers to differ by ``rtol`` in
the transcript, JSON files, safetensors tensors and WAV samples, and
compares other files bitwise. The finding names the first difference.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from pathlib import Path
from typing import Any

from harness.hashing import sha256_path
from harness.jsonfile import JsonFileError, loads_strict
from harness.run.runner import Attempt
from harness.run.spec import LaneSpec
from harness.run.transcript import FILE as EVENTS_FILE
from harness.run.transcript import normalized, read_events
from harness.safepaths import walk_tree

Outcome = tuple[str, str]


def check_determinism(spec: LaneSpec, attempts: list[Attempt]) -> Outcome:
    if len(attempts) < 2:
        return "skip", "run with --repeat N (N >= 2) to check determinism"
    if spec.determinism == "none":
        return "skip", 'the lane spec says determinism = "none"'
    first = attempts[0]
    if not first.clean_exit:
        return "skip", "attempt 1 did not finish cleanly"
    rtol = spec.rtol if spec.determinism == "tolerant" else 0.0
    for other in attempts[1:]:
        if not other.clean_exit:
            return "fail", f"attempt {other.index} did not finish cleanly (exit {other.exit_code}, see repeats/)"
        diff = _transcript_diff(first, other, spec.volatile_stats, rtol) or _files_diff(spec, first, other, rtol)
        if diff:
            return "fail", f"attempt 1 and attempt {other.index} differ: {diff}"
    return "pass", ""


def _transcript_diff(a: Attempt, b: Attempt, volatile: tuple[str, ...], rtol: float) -> str | None:
    pairs = itertools.zip_longest(read_events(a.dir / EVENTS_FILE), read_events(b.dir / EVENTS_FILE))
    for n, (ea, eb) in enumerate(pairs, start=1):
        if ea is None or eb is None:
            return f"{EVENTS_FILE}: attempt {a.index if eb is None else b.index} has more events (from event {n})"
        na, nb = normalized(ea, volatile), normalized(eb, volatile)
        if not close(na, nb, rtol):
            return f"{EVENTS_FILE} event {n} (stdout line {ea.get('line')}): {_short(na)} != {_short(nb)}"
    return None


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _files(root: Path) -> list[str]:
    return sorted(rel for rel, kind in walk_tree(root) if kind != "dir")


def _files_diff(spec: LaneSpec, a: Attempt, b: Attempt, rtol: float) -> str | None:
    rel = spec.outputs.get("bundle")
    root_a, root_b = (a.out_dir / rel, b.out_dir / rel) if rel else (a.out_dir, b.out_dir)
    label = f"out/{rel}" if rel else "out"
    files_a, files_b = _files(root_a), _files(root_b)
    if files_a != files_b:
        only = sorted(set(files_a) ^ set(files_b))
        where = a.index if only[0] in files_a else b.index
        return f"{label}/{only[0]} exists only in attempt {where}"
    for name in files_a:
        pa, pb = root_a / name, root_b / name
        if pa.is_symlink() or pb.is_symlink():
            same = pa.is_symlink() and pb.is_symlink() and pa.readlink() == pb.readlink()
        elif rtol > 0:
            same = _tolerant_file(pa, pb, rtol)
        else:
            same = pa.stat().st_size == pb.stat().st_size and sha256_path(pa) == sha256_path(pb)
        if not same:
            return f"{label}/{name} differs"
    return None


def close(a: Any, b: Any, rtol: float) -> bool:
    """Equal, except that numbers may differ by the relative tolerance ``rtol``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (rtol > 0 and math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rtol) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _tolerant_file(a: Path, b: Path, rtol: float) -> bool:
    suffix = a.suffix.lower()
    try:
        if suffix == ".json":
            return close(loads_strict(a.read_bytes()), loads_strict(b.read_bytes()), rtol)
        if suffix == ".safetensors":
            return _safetensors_close(a, b, rtol)
        if suffix in (".wav", ".flac"):
            return _audio_close(a, b, rtol)
    except (JsonFileError, OSError, ValueError, RuntimeError):
        pass  # unreadable as its kind: fall back to bytes
    return a.stat().st_size == b.stat().st_size and sha256_path(a) == sha256_path(b)


def _arrays_close(x: Any, y: Any, rtol: float) -> bool:
    import numpy as np

    if x.shape != y.shape:
        return False
    if x.size == 0:
        return True
    scale = float(np.max(np.abs(x.astype(np.float64))))
    return bool(np.allclose(x, y, rtol=rtol, atol=rtol * max(scale, 1e-12)))


_ST_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
}


def _safetensors(path: Path) -> tuple[dict[str, Any], Any]:
    """Header and memory map of a safetensors file (read-only, never executes anything)."""
    import numpy as np

    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        if size > 100 * 1024 * 1024:
            raise ValueError("safetensors header too large")
        header = loads_strict(f.read(size))
    return header, np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)


def _safetensors_close(a: Path, b: Path, rtol: float) -> bool:
    import numpy as np

    (ha, da), (hb, db) = _safetensors(a), _safetensors(b)
    ha.pop("__metadata__", None)
    hb.pop("__metadata__", None)
    if ha.keys() != hb.keys():
        return False
    for name, ia in ha.items():
        ib = hb[name]
        if ia["dtype"] != ib["dtype"] or ia["shape"] != ib["shape"]:
            return False
        ra, rb = da[slice(*ia["data_offsets"])], db[slice(*ib["data_offsets"])]
        if ia["dtype"] == "BF16":
            xa = (ra.view("<u2").astype(np.uint32) << 16).view(np.float32)
            xb = (rb.view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif ia["dtype"] in _ST_DTYPES:
            xa, xb = ra.view(_ST_DTYPES[ia["dtype"]]), rb.view(_ST_DTYPES[ia["dtype"]])
        else:
            xa, xb = ra, rb
        if not _arrays_close(xa, xb, rtol):
            return False
    return True


def _audio_close(a: Path, b: Path, rtol: float) -> bool:
    import soundfile

    xa, ra = soundfile.read(a, dtype="float64", always_2d=True)
    xb, rb = soundfile.read(b, dtype="float64", always_2d=True)
    return bool(ra == rb) and _arrays_close(xa, xb, rtol)
