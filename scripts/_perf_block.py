"""One marked block of a Markdown report (reports/perf.md), rewritten in place."""
from __future__ import annotations

from pathlib import Path


def write_block(section: str, path: Path, start: str, end: str) -> None:
    """Replaces the text from ``start`` to ``end`` in ``path`` with ``section``
    (which carries both markers), or appends it when the markers are absent;
    a file that does not exist is created."""
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section if text else section
    path.write_text(text)
