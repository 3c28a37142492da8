"""Load: 16 concurrent clients for 60 seconds against `auditarchive serve` on loopback, a mix of
searches, documents, pages, similar documents, scope lookups and statistics (issue: security and
reliability). Prints requests/s, latency median/p95/p99 and errors (goal: zero errors).

    .venv/bin/python benchmarks/load.py [--home DIR] [--clients 16] [--seconds 60] [--slow N] [--json OUT]

The same machinery as benchmarks/api.py (one process of client threads, keep-alive connections,
a server of one worker process per core); only the defaults and the request mix differ.

--slow N (issue 24: slow clients) runs the mix twice, without and then with N slow-loris
connections held open the whole time (a request line, then one header line a second, never the
end of the head; one the server closes is opened again at once), and prints the normal clients'
errors and p95 for both, and how long the server let the slow connections live (goal: no errors,
p95 about the same, slow connections closed after the head deadline).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    defaults = {"--clients": "16", "--seconds": "60", "--mix": "mixed"}
    for flag, value in defaults.items():
        if flag not in args:
            args += [flag, value]
    return api.main(args)


if __name__ == "__main__":
    sys.exit(main())
