"""The wallboard and lead console pages: token checks, language, static files, no inline script,
nothing loaded from another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.api import pages

PAGES = ["/wallboard", "/lead"]
STATIC = Path(pages.__file__).resolve().parent.parent / "static"
TEMPLATES = Path(pages.__file__).resolve().parent.parent / "templates"
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class Page(HTMLParser):
    """What a test needs from a page: scripts (attrs, body), every tag's attrs, <body>'s attrs."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.body: dict[str, str | None] = {}
        self.html_attrs: dict[str, str | None] = {}
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script, self._text = attrs, []
        elif tag == "body":
            self.body = attrs
        elif tag == "html":
            self.html_attrs = attrs

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}

    def by_id(self, id_: str) -> dict[str, str | None]:
        return next(a for _, a in self.tags if a.get("id") == id_)


def page_token(api, path: str) -> str:
    """The API token a link to ``path`` carries: a read token opens the wallboard, the lead
    console needs a lead (signed in) or an admin."""
    return api.admin if path == "/lead" else api.read


def get_page(api, path: str, **params):
    resp = api.client.get(path, params={"token": page_token(api, path), **params})
    assert resp.status_code == 200, resp.text
    return resp, Page(resp.text)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_a_token_in_the_query_opens_the_page(api, path):
    resp, page = get_page(api, path)
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-store"  # the page carries a token
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    # The page's JS reads its settings (token included) from <body data-…>.
    assert page.body["data-token"] == page_token(api, path)
    assert page.body["data-csrf"] == page.body["data-display"] == ""
    assert page.body["data-lang"] == "zh"
    assert page.body["data-timezone"] == "Asia/Shanghai"
    assert page.body["data-minor-digits"] == "2"
    assert page.by_id("conn")["data-state"] == "reconnecting"


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_in_lead_opens_the_page_with_the_session_cookie(api, path):
    headers = api.sign_in("lead1", teams=("一组",))
    resp = api.client.get(path, headers={"Cookie": headers["Cookie"]})
    assert resp.status_code == 200, resp.text
    body = Page(resp.text).body
    # No secret in the page: the cookie is HttpOnly; changes carry the session's CSRF token.
    assert body["data-token"] == "" and body["data-csrf"] == headers["X-CSRF-Token"]
    assert body["data-team"] == "一组"  # a lead of one team: pinned to it
    assert "paceboard_session" not in resp.text


def test_a_read_token_does_not_open_the_lead_console(api):
    resp = api.client.get("/lead", params={"token": api.read, "lang": "en"})
    assert resp.status_code == 403 and api.read not in resp.text


def test_a_lead_cannot_pin_a_team_not_theirs(api):
    headers = api.sign_in("lead1", teams=("一组",))
    resp = api.client.get("/wallboard", params={"team": "二组"}, headers=headers)
    assert resp.status_code == 403


def test_an_admin_token_reads_too(api):
    assert api.client.get("/wallboard", params={"token": api.admin}).status_code == 200


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "how",
    ["none", "bad query", "bad cookie", "revoked-looking", "blank"],
)
def test_no_or_a_bad_token_gets_a_401_page_without_the_secret(api, path, how):
    secret = "pb_" + "x" * 40
    if how == "none":
        resp = api.client.get(path)
    elif how == "bad query":
        resp = api.client.get(path, params={"token": secret})
    elif how == "bad cookie":
        secret = "pbs_" + "x" * 40
        resp = api.client.get(path, headers={"Cookie": f"paceboard_session={secret}"})
    elif how == "revoked-looking":
        secret = api.read[:-4] + "abcd"
        resp = api.client.get(path, params={"token": secret})
    else:
        resp = api.client.get(path, params={"token": "   "})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-store"
    assert secret not in resp.text
    assert api.read not in resp.text
    assert "需要有效的读取令牌" in resp.text
    assert "Traceback" not in resp.text
    assert "data-token" not in resp.text


def test_a_token_without_read_scope_gets_a_403_page(api):
    resp = api.client.get("/lead", params={"token": api.ingest, "lang": "en"})
    assert resp.status_code == 403
    assert api.ingest not in resp.text
    assert "cannot read the floor" in resp.text


def test_the_401_page_speaks_english_when_asked(api):
    resp = api.client.get("/wallboard", params={"lang": "en"})
    assert resp.status_code == 401
    assert "A valid read token is needed" in resp.text


def test_head_answers_like_get(api):
    resp = api.client.head("/wallboard", params={"token": api.read})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")


# --- language and team -----------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_chinese_is_the_default_and_english_on_request(api, path):
    _, zh = get_page(api, path)
    resp, en = get_page(api, path, lang="en")
    assert zh.html_attrs["lang"] == "zh-CN"
    assert en.html_attrs["lang"] == "en"
    assert en.body["data-lang"] == "en"
    labels = {"/wallboard": ("排行榜", "Leaderboard"), "/lead": ("组长控制台", "Team lead console")}
    chinese, english = labels[path]
    assert english in resp.text and chinese not in resp.text
    assert chinese in api.client.get(path, params={"token": page_token(api, path)}).text
    # An unknown language falls back to Chinese rather than failing.
    _, odd = get_page(api, path, lang="fr")
    assert odd.body["data-lang"] == "zh"


def test_english_wallboard_labels(api):
    resp, _ = get_page(api, "/wallboard", lang="en")
    for label in ("Leaderboard", "Behind pace", "Dials by hour", "Dials", "Revenue", "Teams"):
        assert label in resp.text, label


def test_team_pins_the_wallboard_and_is_escaped(api):
    _, page = get_page(api, "/wallboard", team="一组")
    assert page.body["data-team"] == "一组"
    evil = '"><script>alert(1)</script>'
    resp, page = get_page(api, "/wallboard", team=evil)
    assert page.body["data-team"] == evil  # as an attribute value, parsed back intact
    assert "<script>alert(1)" not in resp.text
    assert all(attrs.get("src") for attrs, _ in page.scripts)


# --- scripts and static files ----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_script_and_nothing_from_another_host(api, path):
    resp, page = get_page(api, path, lang="en")
    assert page.scripts, "the page loads its scripts"
    for attrs, body in page.scripts:
        assert attrs.get("src"), f"inline script: {body[:80]!r}"
        assert not body.strip()
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"inline handler {name} on <{tag}>"
            if name in ("src", "href", "action") and value:
                assert not EXTERNAL.match(value), f"<{tag} {name}={value}>"
                assert not value.lower().startswith("javascript:")
    assert "style=" not in resp.text  # no inline style attributes either


@pytest.mark.parametrize("path", PAGES)
def test_every_script_and_stylesheet_the_page_names_is_served(api, path):
    _, page = get_page(api, path)
    urls = [a["src"] for t, a in page.tags if t == "script"]
    urls += [a["href"] for t, a in page.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert any("plotly.min.js" in u for u in urls)
    for url in urls:
        resp = api.client.get(url)
        assert resp.status_code == 200, url
        kind = "javascript" if ".js" in url else "css"
        assert kind in resp.headers["content-type"], url


def test_plotly_is_served_from_the_installed_package(api):
    bundle = pages.plotly_js()
    assert bundle is not None and bundle.name == "plotly.min.js"
    assert "plotly" in bundle.parts  # inside the plotly package, not a copy of ours
    assert not (STATIC / "plotly.min.js").exists()
    resp = api.client.get("/static/plotly.min.js")
    assert resp.status_code == 200
    assert "javascript" in resp.headers["content-type"]
    assert len(resp.content) > 1_000_000
    assert resp.content == bundle.read_bytes()
    assert resp.headers["cache-control"].startswith("public, max-age=")
    again = api.client.get("/static/plotly.min.js", headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304


def test_own_static_files_revalidate_and_stay_inside_their_directory(api):
    resp = api.client.get("/static/live.js")
    assert resp.status_code == 200
    assert "javascript" in resp.headers["content-type"]
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["etag"]
    assert api.client.get("/static/paceboard.css").headers["content-type"].startswith("text/css")
    for probe in ("/static/../config.py", "/static/%2e%2e/config.py", "/static/nope.js"):
        assert api.client.get(probe).status_code == 404, probe
    # Only plotly.min.js comes from the plotly package, not the rest of its data files.
    assert api.client.get("/static/widgetbundle.js").status_code == 404


def test_static_files_name_no_other_host():
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), path.name
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path.name
        assert "eval(" not in text and "new Function" not in text, path.name


# --- labels and the DOM contract -------------------------------------------------------------


def test_the_catalog_has_every_key_in_both_languages():
    cat = pages.catalog()
    assert set(cat) == {"zh", "en"}
    assert set(cat["zh"]) == set(cat["en"])
    for lang, labels in cat.items():
        assert all(isinstance(v, str) and v for v in labels.values()), lang
    for metric in ("dials", "connects", "talk_seconds", "orders", "invites", "revenue"):
        assert metric in cat["zh"]
    assert cat["zh"]["dials"] == "通次" and cat["zh"]["revenue"] == "业绩"


def test_every_label_a_template_or_script_uses_is_in_the_catalog():
    keys = set(pages.catalog()["zh"])
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'data-i18n="([\w]+)"', text))
        used |= set(re.findall(r"\bt\.(\w+)", text))
    for path in STATIC.glob("*.js"):
        used |= set(re.findall(r'\bt\("(\w+)"[,)]', path.read_text(encoding="utf-8")))
    assert used and used <= keys, sorted(used - keys)


@pytest.mark.parametrize(("path", "script"), [("/wallboard", "wallboard.js"), ("/lead", "lead.js")])
def test_every_element_the_script_looks_up_is_on_the_page(api, path, script):
    _, page = get_page(api, path)
    wanted = set(re.findall(r'\$\("([\w-]+)"\)', (STATIC / script).read_text(encoding="utf-8")))
    assert wanted and wanted <= page.ids(), sorted(wanted - page.ids())


def test_the_wallboard_dom_contract(api):
    _, page = get_page(api, "/wallboard")
    for id_ in ("conn", "clock", "kpis", "board-body", "teams-body", "chart", "behind-list"):
        assert id_ in page.ids(), id_
    assert "hidden" in page.by_id("celebrate")  # until a sale
    assert page.by_id("celebrate-amount")["data-metric"] == "revenue"


def test_the_lead_dom_contract(api):
    _, page = get_page(api, "/lead")
    for id_ in ("conn", "team-select", "team-body", "rep-chart", "funnel", "diagnosis", "alerts"):
        assert id_ in page.ids(), id_
    assert "hidden" in page.by_id("report-link")  # until a HEAD says 200
    sortable = [a["data-sort"] for t, a in page.tags if t == "th" and a.get("data-sort")]
    for metric in ("dials", "connects", "talk_seconds", "orders", "invites", "revenue"):
        assert metric in sortable
    assert {"leads_dialled", "leads_connected", "contact_rate"} <= set(sortable)


def test_the_page_and_the_api_use_the_same_token(api):
    """What the console's JS does with its data-token: call the REST API with it as a bearer."""
    _, page = get_page(api, "/lead")
    token = page.body["data-token"]
    resp = api.client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
