"""Trying again after a transient failure, with exponential back-off: one helper for the places
that wait on another process (an index writer's lock, a table of contents being swapped)."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class GaveUp(Exception):
    """`retry` ran out of attempts or time; the last failure is its __cause__."""


def retry(action: Callable[[], T], on: type[BaseException] | tuple[type[BaseException], ...], *,
          attempts: int | None = None, wait: float | None = None, first: float = 0.05,
          factor: float = 2.0, longest: float = 1.0) -> T:
    """`action()`, called again while it raises one of `on`: at most `attempts` times and/or for
    `wait` seconds, sleeping `first`, then `factor` times longer each time (at most `longest`).
    Raises GaveUp (from the last failure) when neither bound allows another try."""
    if attempts is None and wait is None:
        raise ValueError("retry needs attempts, wait, or both")
    deadline = None if wait is None else time.monotonic() + wait
    delay, tried = first, 0
    while True:
        try:
            return action()
        except on as exc:
            tried += 1
            out_of_tries = attempts is not None and tried >= attempts
            out_of_time = deadline is not None and time.monotonic() + delay > deadline
            if out_of_tries or out_of_time:
                raise GaveUp(f"gave up after {tried} attempt(s): {exc}") from exc
            time.sleep(delay)
            delay = min(delay * factor, longest)
