"""Cross-site WebSocket hijacking: a signed-in browser's cookie opens /ws only from this
server's own pages; token links (the TVs) keep working from anywhere."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from app.live.ws import FORBIDDEN


def first_frame(api, headers: dict[str, str], query: str = "") -> dict:
    with api.client.websocket_connect(f"/ws{query}", headers=headers) as ws:
        return ws.receive_json()


def test_a_cookie_from_another_site_is_refused(api):
    lead = api.sign_in(teams=("一组",))
    with pytest.raises(WebSocketDisconnect) as closed:
        first_frame(api, {"Cookie": lead["Cookie"], "Origin": "https://evil.example"})
    assert closed.value.code == FORBIDDEN


@pytest.mark.parametrize("origin", ["http://testserver", None])
def test_a_cookie_from_our_own_page_or_a_non_browser_is_served(api, origin):
    lead = api.sign_in(teams=("一组",))
    headers = {"Cookie": lead["Cookie"]} | ({"Origin": origin} if origin else {})
    assert first_frame(api, headers)["type"] == "snapshot"


def test_a_token_link_works_from_any_origin(api):
    frame = first_frame(api, {"Origin": "https://tv-vendor.example"}, f"?token={api.read}")
    assert frame["type"] == "snapshot"


def test_the_public_url_is_our_origin_too(api, settings):
    settings.public_url = "https://board.example.com"
    lead = api.sign_in(teams=("一组",))
    headers = {"Cookie": lead["Cookie"], "Origin": "https://board.example.com"}
    assert first_frame(api, headers)["type"] == "snapshot"
