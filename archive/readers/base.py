"""What every reader shares: the page it returns and the error it raises."""
from __future__ import annotations

from dataclasses import dataclass, field

# Pages with fewer visible characters than this count as having no text layer (OCR reads them).
MIN_TEXT_CHARS = 8

Table = list[list[str]]          # rows of cell strings, as `archive.tables` reads a ruled PDF table


@dataclass
class Page:
    number: int                      # 1-based
    text: str                        # normalised (`archive.text.normalise`)
    has_text: bool
    has_images: bool = False
    tables: list[Table] = field(default_factory=list)


class ReadError(Exception):
    """A file that cannot be read; `reason` is a short machine-readable word (`archive.messages.
    FAILURE_NAMES`), the message says why in Chinese."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
