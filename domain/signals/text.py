"""Cleaning a message before it is read: one alphabet (NFKC: fullwidth letters and digits become
ASCII), one dash, one line break; the emoji that mean a direction become marks; every other
emoji, bullet or arrow becomes a space. Offsets in the cleaned text are what the later steps
report."""

from __future__ import annotations

import re
import unicodedata

LONG_MARK = "\ue001"
"""Stands for 📈 or 🟢 (a private-use character no message contains after cleaning)."""
SHORT_MARK = "\ue002"
"""Stands for 📉 or 🔴."""

_MARKS = {
    "\U0001f4c8": LONG_MARK,
    "\U0001f7e2": LONG_MARK,
    "\U0001f4c9": SHORT_MARK,
    "\U0001f534": SHORT_MARK,
}
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # 1️⃣ is an enumerator, like 1)
_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_ARROWS = re.compile("->|=>|[\u2190-\u21ff\u2794-\u27bf\u2b05-\u2b07]")
_FOREIGN = re.compile(f"[^\\x00-\\x7f{LONG_MARK}{SHORT_MARK}]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BULLET = re.compile(r"^[ \t]*[-*+>]+[ \t]+", re.MULTILINE)


def clean(text: str) -> str:
    """``text`` in printable ASCII lines, with direction marks kept."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(_MARKS.get(char, char) for char in text)
    text = _KEYCAP.sub(r"\1)", text)
    text = _DASHES.sub("-", text)
    text = _ARROWS.sub(" ", text)
    text = _FOREIGN.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return _BULLET.sub("", text)
