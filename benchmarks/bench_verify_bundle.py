"""Verify a 1 GiB bundle vs ``openssl dgst -sha256`` over the same files.

Goals (issue 4): 4 files totalling 1 GiB, ratio <= 0.7; one 1 GiB file,
ratio <= 1.1; peak RSS of the verifier <= 100 MB whatever the size.

    python benchmarks/bench_verify_bundle.py [--mib 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import PY, child_peak_rss_mb, compare, run_cmd

from harness.verify import verify_bundle

CHUNK = 1 << 24


def make_bundle(root: Path, sizes: list[int]) -> list[Path]:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, size in enumerate(sizes):
        path = root / ("model.safetensors" if i == 0 else f"shard{i}.bin")
        with path.open("wb") as f:
            left = size
            while left:
                n = min(CHUNK, left)
                f.write(rng.bytes(n))
                left -= n
        paths.append(path)
    sf.write(root / "sample.wav", (0.3 * np.sin(np.arange(11025) / 10)).astype(np.float32), 22050, subtype="PCM_16")
    files = []
    for path in [*paths, root / "sample.wav"]:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(CHUNK):
                digest.update(block)
        files.append({"path": path.name, "sha256": digest.hexdigest(), "bytes": path.stat().st_size})
    manifest = {
        "bundle_version": "voice_bundle/1",
        "voice_profile_id": "bench",
        "display_name": "Bench",
        "created_at": "2026-01-01T00:00:00Z",
        "files": files,
        "licenses": {"code": "Apache-2.0", "weights": "CC0-1.0", "commercial_use_allowed": True},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return paths


def check_passes(root: Path) -> None:
    failed = [r for r in verify_bundle(root) if r.status != "pass"]
    assert not failed, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mib", type=int, default=1024, help="total bundle size in MiB")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    total = args.mib << 20
    tmp = Path(tempfile.mkdtemp(prefix="voicelane-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        for label, sizes, goal in [("4 files", [total // 4] * 4, 0.7), ("1 file", [total], 1.1)]:
            root = tmp / label.replace(" ", "_")
            files = make_bundle(root, sizes)
            check_passes(root)
            compare(
                f"verify bundle, {label}, {args.mib} MiB",
                run_cmd([PY, "-m", "harness", "verify", "bundle", str(root)]),
                run_cmd(["openssl", "dgst", "-sha256", *map(str, files)]),
                rounds=args.rounds,
                goal=goal,
            )
            rss = child_peak_rss_mb([PY, "-m", "harness", "verify", "bundle", str(root)])
            print(f"  peak RSS of `voicelane verify bundle`: {rss:.0f} MB (goal <= 100)", flush=True)
            shutil.rmtree(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
