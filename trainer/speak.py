"""``python -m trainer speak``: prove a bundle is usable, not just well-formed.

Verifies the bundle with the harness verifier, loads the weights from
safetensors only (nothing is ever unpickled), phonemizes new text with
espeak-ng, and writes a WAV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import soundfile as sf

from trainer.audio import AudioConfig, VocoderConfig, griffin_lim
from trainer.data import encode, normalise_symbols
from trainer.export import BundleInvalidError, verify


def load_voice(bundle: Path) -> tuple[Any, dict[str, Any]]:
    """Verified bundle -> (model in eval mode, config dict)."""
    verdict, _verifier, findings = verify(bundle)
    if verdict != "PASS":
        raise BundleInvalidError(f"bundle {bundle} failed verification ({verdict})", findings)
    from safetensors.torch import load_file

    from trainer.model import AcousticModel, ModelConfig

    config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    fields = set(ModelConfig.__dataclass_fields__)
    mcfg = ModelConfig(**{k: v for k, v in config["model"].items() if k in fields})
    model = AcousticModel(mcfg)
    model.load_state_dict(load_file(str(bundle / "model.safetensors")), strict=True)
    return model.eval(), config


def speak(bundle: Path, text: str, out: Path, length_scale: float | None = None) -> float:
    """Synthesise ``text`` with the voice in ``bundle`` into ``out``; returns seconds."""
    import torch

    model, config = load_voice(bundle)
    acfg = AudioConfig(**{k: v for k, v in config["audio"].items() if k in AudioConfig.__dataclass_fields__})
    vcfg = VocoderConfig(**{k: v for k, v in config["vocoder"].items() if k in VocoderConfig.__dataclass_fields__})
    if config.get("phoneme_type") == "espeak":
        from trainer.phonemize import phonemize

        symbols = normalise_symbols(phonemize(text, config["espeak"]["voice"]), True)
    else:
        symbols = normalise_symbols(text, False)
    ids = {s: v[0] for s, v in config["phoneme_id_map"].items()}
    tokens = torch.tensor(encode(symbols, ids), dtype=torch.long)
    scale = config["inference"]["length_scale"] if length_scale is None else length_scale
    mel = model.infer(tokens, float(scale)).numpy()
    wav = griffin_lim(mel, acfg, vcfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, wav, acfg.sample_rate, subtype="PCM_16")
    return wav.size / acfg.sample_rate
