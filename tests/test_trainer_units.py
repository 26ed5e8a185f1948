"""Unit tests for the reference trainer's pieces: MAS, mel filterbank, protocol, phases."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pytest

pytestmark = pytest.mark.trainer
torch = pytest.importorskip("torch")


def test_missing_espeak_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer import phonemize

    monkeypatch.setenv("PATH", "")
    with pytest.raises(phonemize.EspeakMissingError, match="Debian package 'espeak-ng'"):
        phonemize.phonemize("Hello.")


def _best_path_score(log_p: np.ndarray) -> float:
    """Reference MAS by the textbook O(T_text * T_mel) double loop."""
    t_x, t_y = log_p.shape
    q = np.full((t_x, t_y), -np.inf)
    q[0, 0] = log_p[0, 0]
    for j in range(1, t_y):
        for i in range(min(j + 1, t_x)):
            q[i, j] = max(q[i, j - 1], q[i - 1, j - 1] if i > 0 else -np.inf) + log_p[i, j]
    return float(q[t_x - 1, t_y - 1])


def test_mas_is_optimal_and_monotonic() -> None:
    from trainer.mas import maximum_path

    gen = torch.Generator().manual_seed(0)
    log_p = torch.randn(3, 10, 25, generator=gen)
    lens = [(10, 25), (5, 12), (7, 7)]
    path = maximum_path(log_p, torch.tensor([a for a, _ in lens]), torch.tensor([b for _, b in lens]))
    for b, (t_x, t_y) in enumerate(lens):
        p = path[b, :t_x, :t_y]
        assert float(path[b].sum()) == t_y, "each valid frame has exactly one token"
        assert bool((p.sum(1) >= 1).all()), "each token gets at least one frame"
        idx = p.argmax(0)
        assert int(idx[0]) == 0 and int(idx[-1]) == t_x - 1
        assert bool(((idx.diff() == 0) | (idx.diff() == 1)).all())
        score = float((p * log_p[b, :t_x, :t_y]).sum())
        assert score == pytest.approx(_best_path_score(log_p[b, :t_x, :t_y].numpy()), abs=1e-3)


def test_slaney_filterbank_shape_and_coverage() -> None:
    from trainer.audio import AudioConfig, mel_filterbank

    cfg = AudioConfig()
    fb = mel_filterbank(cfg)
    assert fb.shape == (80, 513)
    assert (fb >= 0).all()
    freqs = np.linspace(0, cfg.sample_rate / 2, 513)
    assert fb[:, freqs > cfg.fmax + 50].sum() == 0, "nothing above fmax"
    assert (fb.sum(axis=1) > 0).all(), "every band has support"


def test_griffin_lim_is_seeded() -> None:
    from trainer.audio import AudioConfig, VocoderConfig, griffin_lim, log_mel

    cfg = AudioConfig()
    t = np.arange(cfg.sample_rate // 2) / cfg.sample_rate
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    mel = log_mel(tone, cfg)
    voc = VocoderConfig(n_iter=8)
    a, b = griffin_lim(mel, cfg, voc), griffin_lim(mel, cfg, voc)
    assert a.tobytes() == b.tobytes()
    assert np.abs(a).max() > 0.1


def test_plan_totals_separates_consecutive_phases() -> None:
    from trainer.protocol import plan_totals

    for bases in ([1, 5, 5, 5, 9], [1, 1, 40, 7, 9], [1, 49, 49, 7, 7]):
        totals = plan_totals(bases, fixed={0, 2})
        assert totals[0] == bases[0] and totals[2] == bases[2]
        assert all(a != b for a, b in itertools.pairwise(totals))


def test_protocol_lines_and_phase_finish() -> None:
    from trainer.protocol import Phase, Protocol

    buf = io.StringIO()
    proto = Protocol(stream=buf, clock=lambda: 0.0)
    proto.log("PROGRESS 1 2 is only a log line here")
    phase = Phase(proto, "train", 3)
    phase.tick(stats={"loss": 0.1234567891, "step": 1})
    phase.finish(artifacts=["a/b.json"])
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("# PROGRESS")
    assert lines[1] == "PROGRESS 1 3"
    assert json.loads(lines[2][6:]) == {"elapsed_s": 0.0, "loss": 0.123457, "phase": "train", "step": 1}
    assert lines[3] == "PROGRESS 3 3"
    assert lines[-1] == "ARTIFACT a/b.json"
    before = buf.getvalue()
    with pytest.raises(ValueError):
        proto.tick(1, 2, {"loss": float("nan")})
    assert buf.getvalue() == before, "a refused tick writes nothing"
