"""A small FastSpeech-style acoustic model aligned by MAS on a Gaussian prior.

Text tokens -> embedding -> residual Conv1d encoder -> per-token hidden state
``h`` and a per-token mean ``mu`` in normalised log-mel space.  During training
Monotonic Alignment Search finds the path of frames through tokens that makes
the ground-truth mel most likely under ``N(mu, I)`` (Glow-TTS); the path gives
durations that (a) expand ``h`` for the Conv1d decoder and (b) are the targets
of the duration predictor. At inference the predicted durations expand ``h``.
No attention, no autoregression: it trains in a minute on two CPU cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from trainer.mas import maximum_path


@dataclass(frozen=True)
class ModelConfig:
    """Network shape; stored in the bundle's config.json."""

    n_symbols: int
    n_mels: int = 80
    hidden: int = 96
    kernel: int = 5
    encoder_layers: int = 4
    decoder_layers: int = 4
    duration_layers: int = 2
    dropout: float = 0.1

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class ConvBlock(nn.Module):
    """Residual Conv1d -> ReLU -> LayerNorm over channels, masked at padding."""

    def __init__(self, channels: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: [B, C, T]; mask: [B, 1, T]
        y = F.relu(self.conv(x * mask))
        y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return (x + self.dropout(y)) * mask


class ConvStack(nn.Module):
    def __init__(self, channels: int, kernel: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ConvBlock(channels, kernel, dropout) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


def sequence_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``[B, T]`` bool mask, True where ``t < length``."""
    t = int(lengths.max().item()) if max_len is None else max_len
    return torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]


class AcousticModel(nn.Module):
    """Encoder, duration predictor and decoder; see the module docstring."""

    mel_mean: torch.Tensor
    mel_std: torch.Tensor

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.embed = nn.Embedding(cfg.n_symbols, h)
        nn.init.normal_(self.embed.weight, 0.0, h**-0.5)
        self.encoder = ConvStack(h, cfg.kernel, cfg.encoder_layers, cfg.dropout)
        self.proj_mu = nn.Conv1d(h, cfg.n_mels, 1)
        self.duration = ConvStack(h, 3, cfg.duration_layers, cfg.dropout)
        self.proj_dur = nn.Conv1d(h, 1, 1)
        self.decoder_in = nn.Conv1d(h + cfg.n_mels, h, 1)
        self.decoder = ConvStack(h, cfg.kernel, cfg.decoder_layers, cfg.dropout)
        self.proj_mel = nn.Conv1d(h, cfg.n_mels, 1)
        # Per-band statistics of the training mels: the network works in
        # normalised space; buffers ride along in model.safetensors.
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))

    def encode(
        self, tokens: torch.Tensor, token_lens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns hidden ``[B,H,Tx]``, mu ``[B,M,Tx]``, log-duration ``[B,Tx]``, mask."""
        mask = sequence_mask(token_lens, tokens.shape[1]).unsqueeze(1).float()
        x = self.embed(tokens).transpose(1, 2) * mask
        hidden = self.encoder(x, mask)
        mu = self.proj_mu(hidden) * mask
        d = self.duration(hidden.detach(), mask)
        log_dur = (self.proj_dur(d) * mask).squeeze(1)
        return hidden, mu, log_dur, mask

    def decode(self, hidden_exp: torch.Tensor, mu_exp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Frame-level hidden + prior mean -> normalised log-mel ``[B,M,Ty]``."""
        x = self.decoder_in(torch.cat([hidden_exp, mu_exp], dim=1)) * mask
        x = self.decoder(x, mask)
        return (self.proj_mel(x) + mu_exp) * mask

    @torch.no_grad()
    def set_mel_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-band mean/std of the training log-mels (std floored to avoid /0)."""
        self.mel_mean.copy_(mean)
        self.mel_std.copy_(torch.clamp(std, min=1e-3))

    def normalise(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mel_mean[None, :, None]) / self.mel_std[None, :, None]

    def denormalise(self, mel: torch.Tensor) -> torch.Tensor:
        return mel * self.mel_std[None, :, None] + self.mel_mean[None, :, None]

    def losses(
        self,
        tokens: torch.Tensor,
        token_lens: torch.Tensor,
        mels: torch.Tensor,
        mel_lens: torch.Tensor,
        uniform_alignment: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Training losses on a batch of (tokens, raw log-mels)."""
        hidden, mu, log_dur, x_mask = self.encode(tokens, token_lens)
        y = self.normalise(mels)
        y_mask = sequence_mask(mel_lens, mels.shape[2]).unsqueeze(1).float()
        y = y * y_mask
        if uniform_alignment:
            path = uniform_path(token_lens, mel_lens, tokens.shape[1], mels.shape[2])
        else:
            with torch.no_grad():
                # log N(y_j; mu_i, I) up to a constant, for all (i, j) at once.
                log_p = (
                    -0.5 * (mu**2).sum(1)[:, :, None]
                    + torch.einsum("bmi,bmj->bij", mu, y)
                    - 0.5 * (y**2).sum(1)[:, None, :]
                )
                path = maximum_path(log_p, token_lens, mel_lens)
        durations = path.sum(2)  # [B, Tx]
        hidden_exp = torch.bmm(hidden, path)  # [B, H, Ty]
        mu_exp = torch.bmm(mu, path)
        n_frames = y_mask.sum() * self.cfg.n_mels
        prior = 0.5 * (((y - mu_exp) ** 2) * y_mask).sum() / n_frames
        pred = self.decode(hidden_exp, mu_exp, y_mask)
        mel_l1 = ((pred - y).abs() * y_mask).sum() / n_frames
        target = torch.log(durations.clamp(min=1.0)) * x_mask.squeeze(1)
        dur = ((log_dur - target) ** 2 * x_mask.squeeze(1)).sum() / x_mask.sum()
        total = mel_l1 + prior + dur
        return {"loss": total, "mel_l1": mel_l1, "prior": prior, "duration": dur}

    @torch.no_grad()
    def predict_durations(self, log_dur: torch.Tensor, length_scale: float) -> torch.Tensor:
        return torch.clamp(torch.round(torch.exp(log_dur) * length_scale), min=1.0)

    @torch.no_grad()
    def infer(self, tokens: torch.Tensor, length_scale: float = 1.0) -> torch.Tensor:
        """One utterance ``[Tx]`` -> raw log-mel ``[M, Ty]``."""
        tokens = tokens[None, :]
        lens = torch.tensor([tokens.shape[1]], device=tokens.device)
        hidden, mu, log_dur, _ = self.encode(tokens, lens)
        durations = self.predict_durations(log_dur[0], length_scale).long()
        hidden_exp = torch.repeat_interleave(hidden[0], durations, dim=1)[None]
        mu_exp = torch.repeat_interleave(mu[0], durations, dim=1)[None]
        mask = torch.ones(1, 1, hidden_exp.shape[2], device=tokens.device)
        return self.denormalise(self.decode(hidden_exp, mu_exp, mask))[0]


def uniform_path(token_lens: torch.Tensor, mel_lens: torch.Tensor, t_x: int, t_y: int) -> torch.Tensor:
    """Flat-start alignment: frames shared out evenly over tokens (HMM flat start).

    Used for the first few steps so that ``mu`` starts near the data before MAS
    takes over; MAS from a random ``mu`` tends to collapse onto few tokens.
    """
    j = torch.arange(t_y, device=token_lens.device)[None, :].float()
    idx = torch.floor(j * token_lens[:, None].float() / mel_lens[:, None].float()).long()
    idx = torch.minimum(idx, (token_lens - 1)[:, None])
    path = F.one_hot(idx, t_x).transpose(1, 2).float()
    valid = sequence_mask(mel_lens, t_y)[:, None, :].float()
    return path * valid
