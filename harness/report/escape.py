"""Escaping text a lane wrote before it goes into Markdown or HTML.

Everything a lane wrote is untrusted: a rule message can quote a file name
or a STATS key chosen by the lane. In Markdown every character that could
start markup is backslash-escaped, and line breaks and control characters
are flattened so a value cannot end its table cell or inject a heading.
"""

from __future__ import annotations

import html as _html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def flat(text: object, limit: int = 2000) -> str:
    """One printable line, bounded."""
    s = _CONTROL.sub(" ", str(text)).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def md(text: object) -> str:
    """Escape for a Markdown table cell or inline text (CommonMark: any ASCII punctuation may be escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", flat(text))


def html(text: object) -> str:
    """Escape for HTML text and attribute values."""
    return _html.escape(flat(text), quote=True)
