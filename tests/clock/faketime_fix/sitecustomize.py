"""Put on PYTHONPATH by ``make test-clock`` only, so every Python process of the run loads it.

libfaketime 0.9.10 (Debian 12) fails Python's ``time.sleep`` with EINVAL when the monotonic
clock is left real (FAKETIME_DONT_FAKE_MONOTONIC=1): it shifts the absolute monotonic deadline
of ``clock_nanosleep`` by the faked offset. Faking the monotonic clock instead hangs every timed
lock wait (``sem_clockwait`` is not intercepted). So the monotonic clock stays real and sleeps go
through ``select``'s relative timeout, which libfaketime leaves alone."""

from __future__ import annotations

import os
import select
import time

if os.environ.get("FAKETIME"):
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
