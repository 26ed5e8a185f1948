"""Audio facts from untrusted files, read through soundfile in bounded blocks."""

from __future__ import annotations

import io
from dataclasses import dataclass

#: Frames per block while scanning a file for loudness.
BLOCK_FRAMES = 1 << 16
#: Peak absolute amplitude (full scale = 1.0) under which audio counts as silent (-60 dBFS).
SILENCE_PEAK = 1e-3


class AudioError(Exception):
    """soundfile could not decode the audio; the message says why."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    peak: float | None = None

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def probe_fd(fd: int, *, measure_peak: bool = False) -> AudioInfo:
    """Read header facts (and, if asked, the peak amplitude) of the audio in ``fd``."""
    import numpy as np  # imported here: numpy and libsndfile cost a third of the start-up time
    import soundfile as sf

    raw = io.FileIO(fd, "rb", closefd=False)
    try:
        with sf.SoundFile(raw) as snd:
            peak = None
            if measure_peak:
                peak = 0.0
                for block in snd.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                    if block.size:
                        peak = max(peak, float(np.max(np.abs(block))))
            return AudioInfo(int(snd.samplerate), int(snd.channels), int(snd.frames), peak)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(str(exc) or type(exc).__name__) from None
    finally:
        raw.close()
