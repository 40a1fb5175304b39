"""Make host-originated text safe to print: no escape sequences, no bidi tricks, bounded length."""

from __future__ import annotations

import re

CLIP_MARKER = "…[clipped]"
DEFAULT_LIMIT = 300
# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character except tab.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# Unicode bidi embeddings/overrides/isolates and the invisible marks that can reorder what a reader sees.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean(text: object, limit: int = DEFAULT_LIMIT) -> str:
    """Strip ANSI sequences and control characters, show bidi controls as U+XXXX, clip to ``limit`` chars."""
    value = _ANSI.sub("", str(text))
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if m.group() != "\n" else " ", value)
    value = _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", value)
    if limit and len(value) > limit:
        return value[:limit] + CLIP_MARKER
    return value
