"""Command line: ``python -m trainer [train] ...`` and ``python -m trainer speak ...``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_MANIFEST = Path("fixtures/corpus/dataset_manifest.json")


def default_manifest() -> Path:
    """The committed corpus, relative to cwd, else next to the package."""
    if DEFAULT_MANIFEST.is_file():
        return DEFAULT_MANIFEST
    return Path(__file__).resolve().parents[1] / DEFAULT_MANIFEST


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description="voicelane reference TTS lane")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a voice and export a voice_bundle/1 (default)")
    tr.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help=f"dataset_manifest/1 JSON or NeMo-style JSONL (default: {DEFAULT_MANIFEST})",
    )
    tr.add_argument(
        "--root", type=Path, default=None, help="dataset root for audio_filepath (default: the manifest's folder)"
    )
    tr.add_argument("--out", type=Path, default=None, help="output folder (default: $VOICELANE_OUT, else ./out)")
    tr.add_argument("--steps", type=_positive, default=400)
    tr.add_argument("--seed", type=int, default=1234)
    tr.add_argument("--threads", type=_positive, default=2)
    tr.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    tr.add_argument("--batch-size", type=_positive, default=16)
    tr.add_argument("--lr", type=float, default=3e-3)
    tr.add_argument("--log-every", type=_positive, default=10)
    tr.add_argument("--hidden", type=_positive, default=96, help="channels of every conv layer")
    sp = sub.add_parser("speak", help="synthesise text with a verified bundle")
    sp.add_argument("--bundle", type=Path, required=True)
    sp.add_argument("--text", required=True)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--length-scale", type=float, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in ("train", "speak", "-h", "--help"):
        args_list.insert(0, "train")  # `python -m trainer --steps 5` means train
    args = build_parser().parse_args(args_list)
    if args.command == "speak":
        return _speak(args)
    from trainer.train import TrainOptions, run

    out = args.out or Path(os.environ.get("VOICELANE_OUT") or "out")
    opts = TrainOptions(
        manifest=args.manifest or default_manifest(),
        root=args.root,
        out=out,
        steps=args.steps,
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        batch_size=args.batch_size,
        lr=args.lr,
        log_every=args.log_every,
        hidden=args.hidden,
        flat_start_steps=min(30, max(1, args.steps // 10)),
    )
    return run(opts)


def _speak(args: argparse.Namespace) -> int:
    from trainer.export import BundleInvalidError
    from trainer.phonemize import EspeakMissingError
    from trainer.speak import speak

    try:
        seconds = speak(args.bundle, args.text, args.out, args.length_scale)
    except EspeakMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BundleInvalidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for finding in exc.findings:
            print(f"  {finding}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: cannot use bundle {args.bundle}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({seconds:.2f} s)")
    return 0
