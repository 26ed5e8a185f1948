"""Text to IPA phonemes with espeak-ng, the way the corpus was made.

The corpus generator and ``python -m trainer speak`` both call this module, so
the phoneme strings a model was trained on and the strings it is asked to speak
come from the same code.  ``espeak-ng --ipa`` drops punctuation and prints one
line per clause; we phonemize each clause separately and put the punctuation
back (as Piper does), because commas and full stops are audible pauses.
"""

from __future__ import annotations

import re
import shutil
import subprocess

ESPEAK_PACKAGE = "espeak-ng"
_CLAUSE = re.compile(r"([^,.;:!?]+)([,.;:!?]*)")


class EspeakMissingError(RuntimeError):
    """espeak-ng is not installed; the message names the Debian package."""


def espeak_binary() -> str:
    """Return the espeak-ng executable path or raise a clear, actionable error."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EspeakMissingError(
            "espeak-ng is not installed; install the Debian package "
            f"'{ESPEAK_PACKAGE}' (apt-get install {ESPEAK_PACKAGE})"
        )
    return exe


def espeak_version() -> str:
    """The espeak-ng version string, e.g. ``1.51``."""
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else out.strip()


def _ipa(exe: str, voice: str, text: str) -> str:
    out = subprocess.run(
        [exe, "-q", "--ipa", "-v", voice, text],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return " ".join(part.strip() for part in out.splitlines() if part.strip())


def phonemize(text: str, voice: str = "en-us") -> str:
    """IPA for ``text``, clause by clause, keeping clause punctuation.

    >>> phonemize("It snowed, rained.")  # doctest: +SKIP
    'ɪt snˈoʊd, ɹˈeɪnd.'
    """
    exe = espeak_binary()
    pieces: list[str] = []
    for match in _CLAUSE.finditer(text.strip()):
        words, punct = match.group(1).strip(), match.group(2)
        if not words:
            continue
        ipa = _ipa(exe, voice, words)
        if ipa:
            pieces.append(ipa + punct[:1])
    return " ".join(pieces)
