"""The training lane: prepare -> train -> evaluate -> export, speaking the protocol.

Reproducibility is by construction: one seed drives every random draw (model
init, batch order, Griffin-Lim phase), torch runs with deterministic
algorithms on a fixed thread count, logged floats are rounded, and the only
wall-clock value anywhere is ``elapsed_s`` in STATS (masked by the harness).
"""

from __future__ import annotations

import copy
import dataclasses
import io
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.audio import AudioConfig, VocoderConfig
from trainer.data import (
    DatasetError,
    Utterance,
    assign_splits,
    batches,
    build_symbols,
    check_audio_present,
    encode,
    load_utterance,
    read_manifest,
)
from trainer.evaluate import EvalItem, evaluate
from trainer.export import BundleInputs, BundleInvalidError, ExportError, export_bundle, verify
from trainer.protocol import Phase, Protocol, plan_totals
from trainer.status import StatusWriter, canonical_json, write_atomic

STATUS_PATH = "artifacts/train_status.json"
DATASET_PATH = "artifacts/dataset_manifest.json"
BUNDLE_PATH = "bundles/reference/voice_bundle"
VOICE_PROFILE_ID = "voicelane-reference-en-us"
DISPLAY_NAME = "voicelane reference voice (espeak-ng en-us, Harvard sentences)"


@dataclass
class TrainOptions:
    manifest: Path
    root: Path | None = None
    out: Path = Path("out")
    steps: int = 400
    seed: int = 1234
    threads: int = 2
    device: str = "auto"
    batch_size: int = 16
    lr: float = 3e-3
    flat_start_steps: int = 30
    log_every: int = 10
    hidden: int = 96
    length_scale: float = 1.0


class NonFiniteLossError(Exception):
    """Loss went NaN/Inf (``non_finite_loss``)."""


class DeviceUnavailableError(Exception):
    """``--device cuda`` without a usable GPU (``device_unavailable``)."""


def _setup_torch(opts: TrainOptions) -> Any:
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    import torch

    torch.set_num_threads(opts.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(opts.seed)
    device = opts.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("--device cuda was asked for but torch sees no CUDA device")
    if device == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return torch, torch.device(device)


def run(opts: TrainOptions) -> int:
    """Run the whole lane; returns the process exit code (0 iff completed)."""
    proto = Protocol()
    out = opts.out
    status = StatusWriter(out / STATUS_PATH)
    status.write("running")
    final_stats: dict[str, Any] = {}
    try:
        final_stats = _run(opts, proto, status)
        return 0
    except DatasetError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
    except NonFiniteLossError as exc:
        error = {"code": "non_finite_loss", "message": str(exc)}
    except DeviceUnavailableError as exc:
        error = {"code": "device_unavailable", "message": str(exc)}
    except ExportError as exc:
        error = {"code": "export_failed", "message": str(exc)}
    except BundleInvalidError as exc:
        error = {"code": "bundle_invalid", "message": str(exc), "details": exc.findings}
    except Exception as exc:  # the status file must say *something* on any failure
        error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
    if error.get("details") is None:
        error.pop("details", None)
    proto.log(f"error: {error['code']}: {error['message']}")
    announced = [p for p in proto.announced if (out / p).is_file()]
    status.write(
        "error",
        progress=proto.last_progress,
        stats=final_stats or None,
        artifacts=announced,
        error=error,
    )
    proto.announce_late([STATUS_PATH])
    print(f"voicelane trainer failed: {error['code']}: {error['message']}", file=sys.stderr)
    return 1


def _run(opts: TrainOptions, proto: Protocol, status: StatusWriter) -> dict[str, Any]:
    out = opts.out
    acfg, vcfg = AudioConfig(), VocoderConfig(seed=opts.seed)
    manifest_path = opts.manifest
    root = opts.root if opts.root is not None else manifest_path.parent
    # No absolute output path in the log: repeated runs write to different
    # folders and their transcripts should still read the same.
    proto.log(f"voicelane reference trainer: manifest={manifest_path} root={root}")
    # A one-tick "setup" phase opens the transcript before anything can fail,
    # so even a run that dies reading its manifest can announce train_status.
    setup = Phase(proto, "setup", 1)
    setup.tick(0)
    manifest = read_manifest(manifest_path)
    utts = assign_splits(manifest) if manifest.entries else []
    check_audio_present(utts, root)
    train_utts = [u for u in utts if u.split == "train"]
    test_utts = [u for u in utts if u.split == "test"] or train_utts[:1]

    n_export = 9  # 6 bundle files, manifest, verification, status
    totals = plan_totals([1, len(utts) + 1, opts.steps, len(test_utts) + 1, n_export], fixed={0, 2})[1:]
    setup.finish(stats={"dataset_items": len(utts)})
    # -- prepare --------------------------------------------------------------
    prep = Phase(proto, "prepare", totals[0])
    prep.tick(0)
    for u in utts:
        load_utterance(u, root, acfg)
        prep.tick(stats={"dataset_items": prep.current + 1})
    symbols = build_symbols(manifest)
    symbol_ids = {s: i for i, s in enumerate(symbols)}
    dataset_bytes = canonical_json(manifest.to_document())
    write_atomic(out / DATASET_PATH, dataset_bytes)
    prep.finish(
        stats={
            "dataset_items": len(utts),
            "train_items": len(train_utts),
            "test_items": len(test_utts),
            "symbols": len(symbols),
            "train_audio_s": sum(float(u.audio.size) for u in train_utts if u.audio is not None) / acfg.sample_rate,
        },
        artifacts=[DATASET_PATH],
    )

    # -- train ----------------------------------------------------------------
    torch, device = _setup_torch(opts)
    from trainer.model import AcousticModel, ModelConfig

    mcfg = ModelConfig(n_symbols=len(symbols), n_mels=acfg.n_mels, hidden=opts.hidden)
    model = AcousticModel(mcfg)
    train_mels = np.concatenate([u.mel for u in train_utts if u.mel is not None], axis=1)
    model.set_mel_stats(torch.from_numpy(train_mels.mean(axis=1)), torch.from_numpy(train_mels.std(axis=1)))
    untrained = copy.deepcopy(model).eval()
    model.to(device)
    tokens = [torch.tensor(encode(u.symbols, symbol_ids), dtype=torch.long) for u in train_utts]
    mels = [torch.from_numpy(u.mel) for u in train_utts if u.mel is not None]
    for t, m in zip(tokens, mels, strict=True):
        if len(t) > m.shape[1]:
            raise DatasetError("dataset_invalid", "an utterance has more symbols than frames")
    final_loss = _train(opts, proto, torch, device, model, tokens, mels, totals[1])

    # -- evaluate -------------------------------------------------------------
    model.eval().cpu()
    val_utts = [u for u in utts if u.split == "val"] or train_utts
    length_scale = _calibrate_length_scale(torch, model, val_utts, symbol_ids)
    opts = dataclasses.replace(opts, length_scale=length_scale)
    ev = Phase(proto, "evaluate", totals[2])
    items = [EvalItem(id=u.id, text=u.text, audio=_audio(u), mel=_mel(u)) for u in test_utts]
    test_tokens = [torch.tensor(encode(u.symbols, symbol_ids)) for u in test_utts]

    def synth(net: Any) -> Any:
        return lambda k: net.infer(test_tokens[k], opts.length_scale).numpy()

    def on_item(k: int, row: dict[str, float]) -> None:
        ev.tick(stats={"item": items[k].id, **row})

    metrics, waves = evaluate(items, synth(model), synth(untrained), acfg, vcfg, on_item)
    metrics = {k: round(v, 4) for k, v in metrics.items()}
    metrics["eval_items"] = len(items)
    metrics["heldout"] = any(u.split == "test" for u in utts)
    metrics["final_loss"] = round(final_loss, 4)
    metrics["steps"] = opts.steps
    metrics["length_scale"] = length_scale
    ev.finish(stats=metrics)

    # -- export ---------------------------------------------------------------
    ex = Phase(proto, "export", totals[3])
    config = _voice_config(opts, acfg, vcfg, mcfg, symbols, manifest.uses_phonemes, manifest)
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # One metadata key only: safetensors keeps metadata in a Rust HashMap whose
    # iteration order is random per process, so two keys give two byte layouts.
    model_bytes = save(state, metadata={"format": "pt"})
    bundle_dir = out / BUNDLE_PATH
    inputs = BundleInputs(
        voice_profile_id=VOICE_PROFILE_ID,
        display_name=DISPLAY_NAME,
        language=str(manifest.header.get("language", "en-us")),
        sample_rate=acfg.sample_rate,
        model_bytes=model_bytes,
        parameter_count=sum(int(p.numel()) for p in model.parameters()),
        config=config,
        sample_audio=waves[0],
        sample_text=items[0].text,
        metrics=metrics,
        dataset_sha256=_sha256(dataset_bytes),
        dataset_name=str(manifest.header.get("name", manifest_path.stem)),
        dataset_license=str(manifest.header.get("license", "unknown")),
        seed=opts.seed,
    )
    written = export_bundle(bundle_dir, inputs)
    rel = [f"{BUNDLE_PATH}/{name}" for name in written]
    for path in rel:
        ex.tick(artifacts=[path])
    verdict, verifier, findings = verify(bundle_dir)
    bundle_ok = verdict == "PASS"
    ex.tick(stats={"bundle_valid": bundle_ok, "verifier": verifier, "verdict": verdict})
    if not bundle_ok:
        raise BundleInvalidError(f"bundle verification verdict {verdict}", findings)
    stats = {**metrics, "bundle_valid": True, "verifier": verifier, "loss": round(final_loss, 4)}
    artifacts = [DATASET_PATH, *rel]
    status.write("completed", progress=(ex.total, ex.total), stats=stats, artifacts=artifacts)
    ex.finish(stats=stats, artifacts=[STATUS_PATH])
    proto.log(_report(stats, out))
    return stats


def _train(
    opts: TrainOptions,
    proto: Protocol,
    torch: Any,
    device: Any,
    model: Any,
    tokens: list[Any],
    mels: list[Any],
    total: int,
) -> float:
    """Adam with a one-cycle schedule over length-bucketed, seeded batches."""
    phase = Phase(proto, "train", total)
    opt = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=opts.lr, total_steps=max(2, opts.steps), pct_start=0.1)
    gen = torch.Generator().manual_seed(opts.seed)
    lengths = [int(m.shape[1]) for m in mels]
    model.train()
    step, epoch, loss_value = 0, 0, math.nan
    while step < opts.steps:
        order = torch.randperm(len(tokens), generator=gen).tolist()
        for idx in batches(order, lengths, opts.batch_size):
            if step >= opts.steps:
                break
            batch = _collate(torch, [tokens[i] for i in idx], [mels[i] for i in idx], device)
            losses = model.losses(*batch, uniform_alignment=step < opts.flat_start_steps)
            loss = losses["loss"]
            loss_value = float(loss.item())
            if not math.isfinite(loss_value):
                raise NonFiniteLossError(f"loss is {loss_value} at step {step + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            lr = float(sched.get_last_lr()[0])
            sched.step()
            step += 1
            if step % opts.log_every == 0 or step == opts.steps:
                phase.tick(
                    step,
                    stats={
                        "step": step,
                        "epoch": epoch,
                        "loss": round(loss_value, 5),
                        "lr": round(lr, 8),
                        **{k: round(float(v.item()), 5) for k, v in losses.items() if k != "loss"},
                    },
                )
        epoch += 1
    if phase.current != phase.total:
        phase.finish()
    return loss_value


def _calibrate_length_scale(torch: Any, model: Any, utts: list[Utterance], symbol_ids: dict[str, int]) -> float:
    """Inference length scale that makes predicted durations match the val split.

    The duration predictor regresses log-durations, so exp() of its output
    estimates a geometric mean and, summed over a sentence, runs short. The
    validation split (otherwise unused) sets one global correction, clamped
    to [0.8, 1.25] so a broken predictor is not hidden.
    """
    predicted = natural = 0.0
    with torch.no_grad():
        for u in utts:
            tokens = torch.tensor([encode(u.symbols, symbol_ids)])
            _, _, log_dur, _ = model.encode(tokens, torch.tensor([tokens.shape[1]]))
            predicted += float(model.predict_durations(log_dur[0], 1.0).sum())
            natural += float(_mel(u).shape[1])
    if predicted <= 0:
        return 1.0
    return round(min(1.25, max(0.8, natural / predicted)), 3)


def _collate(torch: Any, toks: list[Any], mels: list[Any], device: Any) -> tuple[Any, ...]:
    tl = torch.tensor([len(t) for t in toks])
    ml = torch.tensor([m.shape[1] for m in mels])
    tok = torch.zeros(len(toks), int(tl.max()), dtype=torch.long)
    mel = torch.zeros(len(mels), mels[0].shape[0], int(ml.max()))
    for k, (t, m) in enumerate(zip(toks, mels, strict=True)):
        tok[k, : len(t)] = t
        mel[k, :, : m.shape[1]] = m
    return tok.to(device), tl.to(device), mel.to(device), ml.to(device)


def _audio(u: Utterance) -> np.ndarray:
    assert u.audio is not None
    return u.audio


def _mel(u: Utterance) -> np.ndarray:
    assert u.mel is not None
    return u.mel


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _voice_config(
    opts: TrainOptions,
    acfg: AudioConfig,
    vcfg: VocoderConfig,
    mcfg: Any,
    symbols: list[str],
    uses_phonemes: bool,
    manifest: Any,
) -> dict[str, Any]:
    """config.json, shaped like a Piper voice's ``.onnx.json``."""
    source = manifest.header.get("source")
    voice = source.get("voice", "en-us") if isinstance(source, dict) else "en-us"
    return {
        "audio": {**acfg.to_dict(), "mel_scale": "slaney", "mel_norm": "slaney", "log": "ln"},
        "espeak": {"voice": voice},
        "language": {"code": str(manifest.header.get("language", voice))},
        "phoneme_type": "espeak" if uses_phonemes else "text",
        "phoneme_id_map": {s: [i] for i, s in enumerate(symbols)},
        "num_symbols": len(symbols),
        "symbols": {"pad": "_", "bos": "^", "eos": "$", "interspersed_blank": True},
        "inference": {"length_scale": opts.length_scale},
        "model": {"architecture": "voicelane-fastspeech-mas/1", **mcfg.to_dict()},
        "vocoder": vcfg.to_dict(),
        "training": {
            "steps": opts.steps,
            "seed": opts.seed,
            "batch_size": opts.batch_size,
            "lr": opts.lr,
            "flat_start_steps": opts.flat_start_steps,
            "threads": opts.threads,
        },
        "dataset": str(manifest.header.get("name", "")),
    }


def _report(stats: dict[str, Any], out: Path) -> str:
    buf = io.StringIO()
    buf.write("== voicelane reference lane: completed ==\n")
    for key in (
        "mcd_heldout",
        "mcd_untrained",
        "mcd_chance",
        "mcd_griffinlim_ceiling",
        "lsd_heldout",
        "duration_ratio",
        "final_loss",
    ):
        if key in stats:
            buf.write(f"{key:>24}: {stats[key]}\n")
    buf.write(f"{'bundle':>24}: $VOICELANE_OUT/{BUNDLE_PATH}")
    return buf.getvalue()
