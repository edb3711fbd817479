"""The one error services raise for input they cannot take; the API turns it into JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """``field`` and ``reason`` for the caller; ``status`` 404 (missing), 409 (clash), 422."""

    field: str
    reason: str
    status: int = 422

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"
