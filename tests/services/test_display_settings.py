"""A TV link's view settings: checked field by field, stored, changed, and defaulted for links
made before they existed (those show the live board as they always did)."""

from __future__ import annotations

import urllib.parse

import pytest
import sqlalchemy as sa

from app.db import session_scope
from app.models import DisplayLink
from app.services.displays import (
    DEFAULT_SETTINGS,
    create_display,
    display_settings,
    link_qr,
    list_displays,
    revoke_display,
    update_display,
    view_settings,
)
from app.services.errors import InputError

CHOSEN = {"size": "large", "views": ["today", "pk"], "rotate_seconds": 45, "pin": "pk",
          "metric": "dials"}  # fmt: skip


def _create(engine, settings=None) -> int:
    with session_scope(engine) as s:
        row, _ = create_display(s, name="TV", teams=[], settings=settings)
        return row.id


def _settings(engine, display_id: int) -> dict:
    with session_scope(engine) as s:
        return view_settings(s, display_id=display_id)


def test_a_link_keeps_the_settings_it_was_made_with(engine):
    display_id = _create(engine, CHOSEN)
    assert _settings(engine, display_id) == CHOSEN
    with session_scope(engine) as s:
        [listed] = list_displays(s)
    assert listed["settings"] == CHOSEN


def test_a_link_without_settings_shows_the_live_board_as_before(engine):
    display_id = _create(engine)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(DisplayLink.size, DisplayLink.views, DisplayLink.pin)  # type: ignore[arg-type]
        ).one()
    assert tuple(stored) == (None, None, None)
    got = _settings(engine, display_id)
    assert (
        got
        == DEFAULT_SETTINGS
        == {
            "size": "normal",
            "views": ["live"],
            "rotate_seconds": 30,
            "pin": None,
            "metric": "revenue",
        }
    )
    got["views"].append("pk")  # a caller's copy: the defaults stay as they are
    assert DEFAULT_SETTINGS["views"] == ["live"]


def test_settings_given_in_part_take_the_defaults_for_the_rest(engine):
    display_id = _create(engine, {"size": "large"})
    assert _settings(engine, display_id) == DEFAULT_SETTINGS | {"size": "large"}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"size": "huge"}, "size"),
        ({"views": []}, "views"),
        ({"views": ["live", "tetris"]}, "views"),
        ({"rotate_seconds": 4}, "rotate_seconds"),
        ({"rotate_seconds": 3601}, "rotate_seconds"),
        ({"views": ["live", "week"], "pin": "month"}, "pin"),
        ({"metric": "talk"}, "metric"),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_field(engine, bad, field):
    with pytest.raises(InputError) as info, session_scope(engine) as s:
        create_display(s, name="TV", teams=[], settings=bad)
    assert info.value.field == field and info.value.status == 422
    with session_scope(engine) as s:
        assert list_displays(s) == []


def test_repeated_views_are_kept_once_in_their_order(engine):
    display_id = _create(engine, {"views": ["pk", "live", "pk"]})
    assert _settings(engine, display_id)["views"] == ["pk", "live"]


def test_changing_some_settings_keeps_the_others(engine):
    display_id = _create(engine, CHOSEN)
    with session_scope(engine) as s:
        update_display(s, display_id=display_id, changes={"pin": None, "rotate_seconds": 20})
    assert _settings(engine, display_id) == CHOSEN | {"pin": None, "rotate_seconds": 20}
    with session_scope(engine) as s:
        update_display(s, display_id=display_id, changes={"name": "Lobby"})
        assert list_displays(s)[0]["name"] == "Lobby"


def test_a_change_that_leaves_the_pin_outside_the_views_is_refused(engine):
    display_id = _create(engine, CHOSEN)
    with pytest.raises(InputError) as info, session_scope(engine) as s:
        update_display(s, display_id=display_id, changes={"views": ["today"]})
    assert info.value.field == "pin"
    assert _settings(engine, display_id) == CHOSEN


def test_a_revoked_or_unknown_link_cannot_be_changed(engine):
    display_id = _create(engine)
    with session_scope(engine) as s:
        revoke_display(s, display_id=display_id)
    for target in (display_id, 999):
        with pytest.raises(InputError) as info, session_scope(engine) as s:
            update_display(s, display_id=target, changes={"size": "large"})
        assert info.value.status == 404


def test_a_stored_pin_outside_the_views_is_not_shown():
    row = DisplayLink(name="x", token_hash="h", prefix="p", views="live,pk", pin="month")
    assert display_settings(row)["pin"] is None


def test_the_qr_code_is_an_svg_image_of_exactly_the_link():
    url = "https://pb.example.com/wallboard?display=pbd_abc"
    uri = link_qr(url)
    assert uri.startswith("data:image/svg+xml")
    svg = urllib.parse.unquote(uri.split(",", 1)[1])
    assert svg.startswith("<svg") and "<script" not in svg
    assert link_qr(url) == uri and link_qr(url + "d") != uri
    # The secret is drawn, never written as text into the image.
    assert "pbd_abc" not in svg
