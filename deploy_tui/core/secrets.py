"""Secrets that never print, and the redactor that keeps them out of every event.

A `Secret` hides its value from str(), repr(), f-strings and pickling; code that
needs the value calls `reveal()` at the last moment (writing it to a stdin). The
`Redactor` knows every secret of a run and masks them in any text before that
text becomes an event, so a recording, a log or a screen can never hold one.
"""

from __future__ import annotations

from typing import NoReturn

MASK = "********"


class Secret:
    """A string that does not show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """Masks every registered secret in text; shared by everything that makes events."""

    def __init__(self) -> None:
        self._values: list[str] = []

    def add(self, secret: Secret | str) -> None:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        # A one- or two-character secret would mask half of all output; such a
        # secret is refused where it is typed in, so it is not worth masking here.
        if len(value) >= 3 and value not in self._values:
            self._values.append(value)
            # Longest first, so a secret that contains another is masked whole.
            self._values.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def lines(self, lines: list[str]) -> list[str]:
        """Mask a batch: one search over the whole batch, and line by line only when something is there."""
        if not self._values:
            return lines
        joined = "\n".join(lines)
        if not any(value in joined for value in self._values):
            return lines
        return [self(line) for line in lines]
