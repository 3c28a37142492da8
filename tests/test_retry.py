"""The one back-off helper: retries what fails transiently, gives up within its bounds."""
from __future__ import annotations

import time

import pytest

from archive.retry import GaveUp, retry


def test_retry_until_it_works_within_the_attempts():
    calls = []

    def flaky():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise OSError("busy")
        return "done"
    assert retry(flaky, OSError, attempts=5, first=0.01) == "done"
    assert len(calls) == 3 and calls[2] - calls[1] >= calls[1] - calls[0] >= 0.01     # backing off


def test_retry_gives_up_with_the_last_failure_as_cause():
    with pytest.raises(GaveUp) as err:
        retry(lambda: 1 / 0, ZeroDivisionError, attempts=3, first=0.001)
    assert isinstance(err.value.__cause__, ZeroDivisionError)
    started = time.monotonic()
    with pytest.raises(GaveUp):
        retry(lambda: 1 / 0, ZeroDivisionError, wait=0.2, first=0.02, longest=0.05)
    assert time.monotonic() - started < 1.0


def test_other_errors_are_not_retried_and_a_bound_is_required():
    calls = []

    def wrong():
        calls.append(1)
        raise KeyError("x")
    with pytest.raises(KeyError):
        retry(wrong, OSError, attempts=5)
    assert calls == [1]
    with pytest.raises(ValueError):
        retry(lambda: 1, OSError)
