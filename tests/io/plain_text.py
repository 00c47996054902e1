"""Plain-Python reading of input files for the reader tests: the independent side of a count."""

from __future__ import annotations

import gzip
import re
from pathlib import Path


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The file's text, gunzipped when it ends with .gz; line endings untouched."""
    with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as f:
        return f.read().decode(encoding)


def physical_lines(text: str) -> list[str]:
    """Lines split at ``\\n``, ``\\r\\n`` or ``\\r``; a final terminator ends the last line."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()
    return lines
