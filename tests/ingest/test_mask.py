"""One masking for every spelling the customer hash treats as one number (issue 16): separators,
dashes of any width, full-width digits, zero-width characters, country prefixes."""

from __future__ import annotations

import re

import phonenumbers
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.adapters.base import mask_value
from app.ingest.mask import holds_number, mask, normalise
from app.ingest.records import CustomerHasher
from tests.conftest import SECRET, record

HASHER = CustomerHasher(SECRET)
NUMBER = "13800138000"
SEPARATORS = ["", " ", "-", "/", "—", "–", "_", ".", "\u200b", "\u00a0", "－", "\u2060", "\ufeff"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def spellings(draw, number: str = NUMBER) -> str:
    prefix = draw(st.sampled_from(["", "+86 ", "0086", "+86-", "86 "]))
    out = [prefix]
    for i, digit in enumerate(number):
        if i:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(digit.translate(FULL_WIDTH) if draw(st.booleans()) else digit)
    return "".join(out)


def national_digits_left(text: str) -> bool:
    """Whether the number's own digits still stand in ``text`` (read as the masking reads)."""
    return NUMBER in re.sub(r"\D", "", normalise(text))


@settings(max_examples=300, deadline=None)
@given(spelled=spellings(), before=st.text(max_size=8), after=st.text(max_size=8))
def test_every_spelling_the_hash_reads_as_the_customer_is_masked(spelled, before, after):
    assert HASHER(spelled) == HASHER(NUMBER)  # the hash's view: one customer
    text = f"{before} {spelled} {after}"
    assert holds_number(text)
    masked = mask(text)
    assert not national_digits_left(masked), masked
    assert not national_digits_left(mask_value(spelled))


def test_extensions_times_kept_by_the_value_rules_and_short_runs_stay():
    assert mask("extension 8001 called 8002") == "extension 8001 called 8002"
    assert mask_value("2026-11-26 10:05:00") == "2026-11-26 10:05:00"
    assert mask("138/0013/8000 and １３８－００１３－８０００") == "*** and ***"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(spelled=spellings())
def test_a_rejected_record_keeps_no_spelling_of_the_number(api, engine, spelled):
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ingest_reject"))
    bad = {**record("m1"), "disposition": f"call {spelled}", "note": spelled}
    res = api.post_calls([bad])
    assert res["results"][0]["status"] == "rejected"
    with engine.connect() as conn:
        kept = " ".join(
            f"{p} {e}"
            for p, e in conn.execute(sa.text("SELECT payload, errors FROM ingest_reject"))
        )
    assert kept and not national_digits_left(kept), kept
    assert not national_digits_left(str(res))


# --- spellings as libphonenumber writes them, numbers of many countries ----------------------

REGIONS = ["CN", "HK", "SG", "US", "GB", "DE", "FR", "IN", "JP", "BR", "AU", "RU"]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
POSSIBLE = phonenumbers.Leniency.POSSIBLE  # every plausible length: the widest search it makes


@st.composite
def library_spellings(draw) -> tuple[str, str, str]:
    """(region, the number's national digits, the number as libphonenumber formats it): an
    example number of the region with its last digits redrawn."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(KINDS)))
    national = str(example.national_number)
    tail = draw(st.text("0123456789", min_size=3, max_size=3))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{tail}")
    spelled = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    return region, str(number.national_number), spelled


@settings(max_examples=300, deadline=None)
@given(
    case=library_spellings(),
    before=st.text("abc 客户电话：", max_size=10),
    after=st.text("xyz ，谢谢", max_size=10),
)
def test_no_number_libphonenumber_can_find_survives_the_masking(case, before, after):
    region, national, spelled = case
    text = f"{before} {spelled} {after}"
    found = lambda t: list(phonenumbers.PhoneNumberMatcher(t, region, leniency=POSSIBLE))  # noqa: E731
    assert found(text)  # the library sees the number before the masking
    masked = mask(text)
    assert not found(masked), masked
    assert national not in re.sub(r"\D", "", masked), masked
