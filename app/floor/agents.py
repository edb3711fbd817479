"""What an unresolved agent is called: the bucket codes of agents not on the roster."""

from __future__ import annotations

from collections.abc import Callable

#: The code of an unresolved agent whose identifier looked like a phone number (or was the
#: call's other party): ``#`` + a prefix of its keyed hash, never the number itself.
HASHED_AGENT_PREFIX = "#"


def hashed_agent_code(value: str, hasher: Callable[[str], str | None]) -> str:
    """The bucket code of a phone-like identifier: stable for every spelling of the number
    (``hasher``: the floor's keyed customer hash)."""
    return HASHED_AGENT_PREFIX + (hasher(value) or "")[:12]
