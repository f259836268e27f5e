"""One benchmark's results in benchmarks/README.md: the text between its two markers, replaced."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).with_name("README.md")


def replace_section(start: str, end: str, section: str, intro: str = "") -> None:
    """Put section between the markers (added at the end the first time); the rest stays as it is.

    The README is read right before it is written: other benchmarks keep their own sections in it.
    """
    text = README.read_text() if README.exists() else intro
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{section.rstrip()}\n{end}{tail}")
