"""Request value types shared by the routers: days and instants written as ISO text and inside
the years the floor can mean (a day in year 1 or 9999 is a typo, and date arithmetic near those
ends overflows), named ids that fit the database."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from app.floor.pacing import FIRST_DAY, LAST_DAY

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day_text(v: Any) -> Any:
    # pydantic's lax mode reads 0.0 or 1700000000 as a date: a query string means text.
    if isinstance(v, date):
        return v
    if not isinstance(v, str) or not _ISO_DAY.match(v.strip()):
        raise ValueError("must be a date written YYYY-MM-DD")
    return v.strip()


def _in_range(d: date) -> date:
    if not FIRST_DAY <= d <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return d


def _instant_in_range(t: datetime) -> datetime:
    _in_range(t.date())
    return t


#: A calendar day, ``YYYY-MM-DD``, 2000-01-01 … 2100-12-31.
Day = Annotated[date, BeforeValidator(_iso_day_text), AfterValidator(_in_range)]
#: An instant with its offset, in the same years.
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]
#: A row id from a URL: a positive 64-bit integer.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
