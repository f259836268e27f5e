"""Values as an error shows them: short, on one line, with control and bidi characters escaped, secrets masked.

Every error that echoes something the operator typed, or a file held, goes through
`shown`: a hostile value can then neither break the line, reorder the terminal's text
(U+202E), send it escape sequences (ESC, C1 CSI), nor flood it (10,000 characters).
"""

from __future__ import annotations

from typing import Any

from deploy_tui.core.secrets import MASK

LIMIT = 80
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def shown(value: Any, limit: int = LIMIT, *, quote: bool = True, secret: bool = False) -> str:
    """value for an error line: a string quoted (quote=False: bare, for paths and names that frame a message),
    anything else as its repr; at most `limit` characters of it, then how long it was."""
    if secret:
        return f"'{MASK}'" if quote else MASK
    is_text = isinstance(value, str)
    text = value if is_text else repr(value)
    quoted = quote and is_text
    pieces: list[str] = []
    used = 0
    cut = False
    for char in text:
        piece = _escape(char, quoted)
        if used + len(piece) > limit:
            cut = True
            break
        pieces.append(piece)
        used += len(piece)
    body = "".join(pieces) + ("…" if cut else "")
    if quoted:
        body = f"'{body}'"
    return body + (f" ({len(text)} characters)" if cut else "")


def _escape(char: str, quoted: bool) -> str:
    """The character itself when a terminal shows it as one harmless glyph, else its Python escape."""
    if char.isprintable():
        # isprintable() is False for Cc, Cf (bidi overrides, zero-width), Zl, Zp, Cs, Co, Cn and every space but " ".
        return "\\" + char if quoted and char in "\\'" else char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown_path(path: object) -> str:
    """A path as an error line names it, usually at its head: bare, escaped, cut short."""
    return shown(str(path), 100, quote=False)
