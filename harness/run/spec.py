"""Lane specs: TOML validated against ``lane_spec/1``, with relative paths resolved.

A spec that is not valid is a configuration error (exit 2), never a lane
failure: the message names the key so the author can fix it at once.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 3600.0
DEFAULT_STALL_S = 600.0
DEFAULT_GRACE_S = 5.0
DEFAULT_LOG_CAP = 64 * 1024 * 1024
DEFAULT_VOLATILE_STATS = ("elapsed_s", "time", "wall_time_s")
DEFAULT_RTOL = 1e-6
OUTPUT_KEYS = ("train_status", "dataset_manifest", "bundle")


class SpecError(ValueError):
    """The spec cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class MetricGate:
    name: str
    min: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class LaneSpec:
    """A validated lane spec. Paths are absolute; ``raw`` is the TOML as read."""

    path: Path
    sha256: str
    name: str
    kind: str
    command: tuple[str, ...]
    workdir: Path
    timeout_s: float
    stall_timeout_s: float
    kill_grace_s: float
    log_cap_bytes: int
    max_line: int
    image: str | None
    env: dict[str, str]
    outputs: dict[str, str]
    dataset_root: Path | None
    determinism: str
    volatile_stats: tuple[str, ...]
    rtol: float
    metrics: tuple[MetricGate, ...] = field(default_factory=tuple)
    raw: dict[str, Any] = field(default_factory=dict)


def load_spec(path: str | Path) -> LaneSpec:
    """Read and validate a lane spec; raise ``SpecError`` naming what is wrong."""
    from harness.protocol import DEFAULT_MAX_LINE
    from harness.safepaths import PathEscape, normalize_relpath
    from harness.schemas import schema_errors

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the lane spec: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    errors = schema_errors("lane_spec/1", raw)
    if errors:
        raise SpecError(f"{path}: " + "; ".join(errors))
    expect = raw.get("expect", {})
    metrics = tuple(
        MetricGate(name, _opt_float(gate.get("min")), _opt_float(gate.get("max")))
        for name, gate in expect.get("metrics", {}).items()
    )
    for gate in metrics:
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            raise SpecError(f"{path}: /expect/metrics/{gate.name}: min {gate.min} is greater than max {gate.max}")
    spec_dir = path.resolve().parent
    workdir = (spec_dir / raw.get("workdir", ".")).resolve()
    outputs = dict(raw.get("outputs", {}))
    root = outputs.pop("dataset_root", None)
    for key, rel in outputs.items():
        try:
            outputs[key] = normalize_relpath(rel)
        except PathEscape as exc:
            raise SpecError(f"{path}: /outputs/{key}: {rel!r} must stay inside the output dir ({exc})") from None
    return LaneSpec(
        path=path.resolve(),
        sha256=hashlib.sha256(data).hexdigest(),
        name=raw["name"],
        kind=raw["kind"],
        command=tuple(raw["command"]),
        workdir=workdir,
        timeout_s=float(raw.get("timeout_s", DEFAULT_TIMEOUT_S)),
        stall_timeout_s=float(raw.get("stall_timeout_s", DEFAULT_STALL_S)),
        kill_grace_s=float(raw.get("kill_grace_s", DEFAULT_GRACE_S)),
        log_cap_bytes=int(raw.get("log_cap_bytes", DEFAULT_LOG_CAP)),
        max_line=int(raw.get("max_line", DEFAULT_MAX_LINE)),
        image=raw.get("image"),
        env=dict(raw.get("env", {})),
        outputs=outputs,
        dataset_root=(workdir / root).resolve() if root else None,
        determinism=expect.get("determinism", "none"),
        volatile_stats=tuple(expect.get("volatile_stats", DEFAULT_VOLATILE_STATS)),
        rtol=float(expect.get("rtol", DEFAULT_RTOL)),
        metrics=metrics,
        raw=raw,
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
