"""voicelane reference lane: a small, real PyTorch TTS trainer that meets every contract.

Submodules import torch lazily so that the data and protocol code (and the
corpus generator, which borrows :mod:`trainer.phonemize`) work without it.
"""

__version__ = "0.1.0"
