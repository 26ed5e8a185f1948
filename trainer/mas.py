"""Monotonic Alignment Search (Glow-TTS, Kim et al. 2020), in plain torch.

The dynamic programme runs over the mel-frame axis (one Python iteration per
frame) and is vectorised over the batch and the text axis, so it costs a few
milliseconds per batch and needs no compiled extension; it runs on whatever
device the tensors live on.
"""

from __future__ import annotations

import torch

_NEG = -1e9


@torch.no_grad()
def maximum_path(
    log_p: torch.Tensor, text_lens: torch.Tensor, mel_lens: torch.Tensor
) -> torch.Tensor:
    """Most likely monotonic alignment of text tokens to mel frames.

    Args:
        log_p: ``[B, T_text, T_mel]`` log-likelihood of frame j under token i.
        text_lens, mel_lens: valid lengths; requires ``text_len <= mel_len``.

    Returns:
        ``[B, T_text, T_mel]`` float 0/1 path; every valid token gets >= 1 frame,
        every valid frame exactly one token, and the token index never decreases.
    """
    b, t_x, t_y = log_p.shape
    dev = log_p.device
    idx_x = torch.arange(t_x, device=dev)
    valid_x = idx_x[None, :] < text_lens[:, None]
    lp = torch.where(valid_x[:, :, None], log_p.float(), torch.full_like(log_p, _NEG).float())
    value = torch.where(idx_x[None, :] == 0, lp[:, :, 0], torch.full_like(lp[:, :, 0], _NEG))
    from_diag = torch.zeros(b, t_x, t_y, dtype=torch.bool, device=dev)
    neg_col = torch.full((b, 1), _NEG, device=dev)
    for j in range(1, t_y):
        stay = value
        diag = torch.cat([neg_col, value[:, :-1]], dim=1)
        take = diag > stay
        from_diag[:, :, j] = take
        new = torch.maximum(stay, diag) + lp[:, :, j]
        value = torch.where((j < mel_lens)[:, None], new, value)
    path = torch.zeros(b, t_x, t_y, device=dev)
    rows = torch.arange(b, device=dev)
    cur = (text_lens - 1).clamp(min=0)
    for j in range(t_y - 1, -1, -1):
        active = j < mel_lens
        path[rows[active], cur[active], j] = 1.0
        step = from_diag[rows, cur, j] & active
        cur = (cur - step.long()).clamp(min=0)
    return path
