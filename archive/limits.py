"""The limits and defaults of a batch run, apart from the machinery (a command that only needs
its options' defaults does not load the PDF readers and the OCR)."""
from __future__ import annotations

import os

DEFAULT_TIMEOUT = 120.0            # seconds a file may take in its worker
DEFAULT_MEMORY_MB = 3072           # address-space limit of a worker
DEFAULT_OCR_TIMEOUT = 300.0        # seconds one page's OCR may take (~5-10 s is usual on 2 cores)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
