"""The wallboard and lead console pages: token checks, language, static files, no inline script,
nothing loaded from another host."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.api import pages
from app.labels import catalog

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


class Refusal(HTMLParser):
    """A refusal page as a person reads it: title, what the page needs, what was wrong, and
    where its buttons go."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self._in: str | None = None
        self.feed(html)
        self.title = self.texts.get("h1", "")
        self.need = self.texts.get("refusal-need", "")
        self.reason = self.texts.get("refusal-reason", "")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs.get("href") or ""
        self._in = "h1" if tag == "h1" else attrs.get("id")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in:
            self.texts[self._in] = self.texts.get(self._in, "") + data

    def sign_in_next(self) -> str | None:
        """Where the "Sign in" button comes back to (its next=), None without the button."""
        href = self.links.get("sign-in")
        if href is None:
            return None
        url = urlsplit(href)
        assert url.path == "/login", href
        return parse_qs(url.query)["next"][0]


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
    refusal = Refusal(resp.text)
    assert refusal.need == "The lead console is for signed-in leads and admins."
    assert refusal.reason == "The token in this link does not open this page: sign in instead."
    assert refusal.sign_in_next() == "/lead?lang=en"


def test_a_lead_cannot_pin_a_team_not_theirs(api):
    headers = api.sign_in("lead1", teams=("一组",))
    resp = api.client.get("/wallboard", params={"team": "二组"}, headers=headers)
    assert resp.status_code == 403


def test_an_admin_token_reads_too(api):
    assert api.client.get("/wallboard", params={"token": api.admin}).status_code == 200


#: What a 401 page says for each way a credential can be missing (zh, the default).
WHY_401 = {
    "none": "请登录后继续。",
    "bad query": "链接中的令牌无效或已被撤销:请向管理员索取新链接,或直接登录。",
    "bad cookie": "您已退出,或登录已过期、账号已停用:请重新登录。",
    "revoked-looking": "链接中的令牌无效或已被撤销:请向管理员索取新链接,或直接登录。",
    "blank": "请登录后继续。",
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("how", list(WHY_401))
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
    refusal = Refusal(resp.text)
    assert refusal.reason == WHY_401[how]
    assert refusal.sign_in_next() == path  # signing in comes back here
    assert "Traceback" not in resp.text
    assert "data-token" not in resp.text


def test_a_token_without_read_scope_gets_a_403_page(api):
    resp = api.client.get("/lead", params={"token": api.ingest, "lang": "en"})
    assert resp.status_code == 403
    assert api.ingest not in resp.text
    assert "does not open this page" in resp.text


def test_the_401_page_speaks_english_when_asked(api):
    resp = api.client.get("/wallboard", params={"lang": "en"})
    assert resp.status_code == 401
    refusal = Refusal(resp.text)
    assert refusal.title == "Sign in to open this page"
    assert refusal.need.startswith("The wallboard opens with a TV link an admin creates")


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
    # The tables' headers come from wallboard.js's column lists (tests/browser: test_wallboard.py).
    for label in ("Leaderboard", "Behind pace", "Dials by hour", "Dials", "Teams"):
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
    cat = catalog()
    assert set(cat) == {"zh", "en"}
    assert set(cat["zh"]) == set(cat["en"])
    for lang, labels in cat.items():
        assert all(isinstance(v, str) and v for v in labels.values()), lang
    for metric in ("dials", "connects", "talk_seconds", "orders", "invites", "revenue"):
        assert metric in cat["zh"]
    assert cat["zh"]["dials"] == "通次" and cat["zh"]["revenue"] == "业绩"


def test_every_label_a_template_or_script_uses_is_in_the_catalog():
    keys = set(catalog()["zh"])
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
    ids = ("conn", "team-select", "team-head", "team-body", "rep-chart", "funnel", "diagnosis")
    for id_ in (*ids, "alerts"):
        assert id_ in page.ids(), id_
    assert "hidden" in page.by_id("report-link")  # until a HEAD says 200
    # The table's header comes from lead.js's column list (tests/browser: test_wallboard.py).


def test_the_page_and_the_api_use_the_same_token(api):
    """What the console's JS does with its data-token: call the REST API with it as a bearer."""
    _, page = get_page(api, "/lead")
    token = page.body["data-token"]
    resp = api.client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


# --- refusals say what the page needs and how to get in (issue 20) ----------------------------


def has_route(api, path: str) -> bool:
    from fastapi.routing import iter_route_contexts

    return any(ctx.path == path for ctx in iter_route_contexts(api.client.app.routes))


def display_of(api, team: str) -> str:
    """A TV link's secret for ``team`` (created if missing)."""
    from app.db import session_scope
    from app.services.displays import create_display
    from app.services.roster import ensure_team

    with session_scope(api.engine) as session:
        ensure_team(session, team)
        return create_display(session, name="TV", teams=[team])[1]


NEEDS = {
    "/lead": "The lead console is for signed-in leads and admins.",
    "/wallboard": "The wallboard opens with a TV link an admin creates, or for signed-in leads "
    "and admins.",
    "/morning": "The morning screen opens with a TV link an admin creates, or for signed-in "
    "leads and admins.",
    "/reports/daily": "Reports are for signed-in leads and admins.",
    "/admin": "The admin pages are for signed-in admins.",
}
SIGN_IN = "Sign in to continue."
BAD_TV = "This TV link was revoked or mistyped: ask an admin for a new one."
TOKEN_SCOPE = "The token in this link does not open this page: sign in instead."
NOT_YOURS = "The team in this link is not one of yours."
USER_SCOPE = (
    "The account you are signed in with cannot open this page: sign in with one that can, "
    "or ask an admin."
)

#: path, who asks, status, the reason shown, whether "Sign in" is offered, whether "my page" is.
REFUSALS = [
    ("/lead", "nobody", 401, SIGN_IN, True, False),
    ("/lead", "read token", 403, TOKEN_SCOPE, True, False),
    ("/wallboard", "nobody", 401, SIGN_IN, True, False),
    ("/wallboard", "ingest token", 403, TOKEN_SCOPE, True, False),
    ("/wallboard", "mistyped TV link", 401, BAD_TV, True, False),
    ("/wallboard", "lead, another team", 403, NOT_YOURS, False, True),
    ("/wallboard", "team TV, another team", 403, NOT_YOURS, False, False),
    ("/morning", "mistyped TV link", 401, BAD_TV, True, False),
    ("/reports/daily", "nobody", 401, SIGN_IN, True, False),
    ("/reports/daily", "read token", 403, TOKEN_SCOPE, True, False),
    ("/admin", "nobody", 401, SIGN_IN, True, False),
    ("/admin", "lead", 403, USER_SCOPE, True, True),
]


def ask(api, path: str, who: str) -> tuple[object, list[str]]:
    """The page as ``who`` opens it in English; and the secrets its answer must not show."""
    params, headers, secrets = {"lang": "en"}, {}, []
    if who in ("read token", "ingest token"):
        params["token"] = api.read if who == "read token" else api.ingest
        secrets.append(params["token"])
    elif who == "mistyped TV link":
        params["display"] = "pbd_" + "m" * 40
        secrets.append(params["display"])
    elif who == "team TV, another team":
        params |= {"display": display_of(api, "一组"), "team": "二组"}
        secrets.append(params["display"])
    elif who.startswith("lead"):
        headers["Cookie"] = api.sign_in("lead1", teams=("一组",))["Cookie"]
        if who == "lead, another team":
            params["team"] = "二组"
    return api.client.get(path, params=params, headers=headers), secrets


@pytest.mark.parametrize(
    ("path", "who", "status", "reason", "sign_in", "home"),
    REFUSALS,
    ids=[f"{r[0]} as {r[1]}" for r in REFUSALS],
)
def test_a_refusal_says_what_the_page_needs_and_offers_sign_in_where_it_helps(
    api, path, who, status, reason, sign_in, home
):
    if path == "/admin" and not has_route(api, "/admin"):
        pytest.skip("no /admin page in this build")
    resp, secrets = ask(api, path, who)
    assert resp.status_code == status, resp.text
    refusal = Refusal(resp.text)
    assert refusal.need == NEEDS[path]
    assert refusal.reason == reason
    # "Sign in" comes back to this very page, in its language, with no credential in it.
    assert refusal.sign_in_next() == (f"{path}?lang=en" if sign_in else None)
    assert ("go-home" in refusal.links) is home
    if home:
        assert refusal.links["go-home"] == "/?lang=en"
    for secret in secrets:
        assert secret not in resp.text


def test_the_chinese_refusal_of_a_read_token_on_the_console(api):
    resp = api.client.get("/lead", params={"token": api.read})
    assert resp.status_code == 403
    refusal = Refusal(resp.text)
    assert refusal.title == "无权打开此页面"
    assert refusal.need == "组长控制台仅供已登录的组长和管理员使用。"
    assert refusal.reason == "链接中的令牌打不开此页面:请登录后再打开。"
    assert refusal.sign_in_next() == "/lead"
    assert api.read not in resp.text


# --- the front door: / ------------------------------------------------------------------------


def front_door(api, *, headers: dict[str, str] | None = None, method: str = "GET", **params):
    resp = api.client.request(
        method, "/", params=params, headers=headers or {}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    assert resp.headers["cache-control"] == "no-store"
    return resp.headers["location"]


def test_the_front_door_sends_a_stranger_to_sign_in_keeping_the_language(api):
    assert front_door(api) == "/login"
    assert front_door(api, lang="en") == "/login?lang=en"
    assert front_door(api, lang="zh") == "/login?lang=zh"
    assert front_door(api, method="HEAD") == "/login"
    # An API token is not a person signing in; a session that ended is nobody.
    assert front_door(api, headers={"Authorization": f"Bearer {api.admin}"}) == "/login"
    ended = {"Cookie": "paceboard_session=pbs_" + "x" * 40}
    assert front_door(api, headers=ended) == "/login"
    assert api.client.get("/?lang=en").url.path == "/login"  # where a browser ends up


def test_the_front_door_sends_a_signed_in_person_to_their_roles_page(api):
    lead = {"Cookie": api.sign_in("lead1", teams=("一组",))["Cookie"]}
    admin = {"Cookie": api.sign_in("boss", role="admin", teams=())["Cookie"]}
    assert front_door(api, headers=lead) == "/lead"
    assert front_door(api, headers=lead, lang="en") == "/lead?lang=en"
    assert front_door(api, headers=admin) == "/admin"
    assert front_door(api, headers=admin, lang="en-US") == "/admin?lang=en"


@pytest.mark.parametrize(
    ("role", "lang", "landing"),
    [("admin", "", "/admin"), ("admin", "en", "/admin?lang=en"), ("lead", "en", "/lead?lang=en")],
)
def test_signing_in_without_next_lands_on_the_roles_page(api, role, lang, landing):
    from tests.api.test_auth import make_user, sign_in

    make_user(api.engine, "someone", role=role, teams=("一组",))
    resp = sign_in(api.client, "someone", lang=lang)
    assert resp.status_code == 303 and resp.headers["location"] == landing
    # A next= still wins, for an admin too.
    again = sign_in(api.client, "someone", next="/wallboard")
    assert again.headers["location"] == "/wallboard"


# --- labels: 客单价, and a floor's own (PACEBOARD_LABELS) ------------------------------------


def test_average_order_value_is_called_so_everywhere_and_no_insurance_term_is_left():
    cat = catalog()
    assert cat["zh"]["avg_order_value"] == "客单价"
    assert cat["en"]["avg_order_value"] == "Avg order value"
    app_dir = STATIC.parent
    for path in app_dir.rglob("*"):
        if path.suffix in (".py", ".js", ".html", ".css"):
            assert "件均" not in path.read_text(encoding="utf-8"), path


def csv_header(api, **params) -> list[str]:
    resp = api.client.get(
        "/api/v1/reports/daily",
        params={"format": "csv", "day": "2026-11-26", **params},
        headers=api.auth(api.admin),
    )
    assert resp.status_code == 200, resp.text
    return next(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_the_default_label_is_on_the_report_page_and_in_its_csv(api):
    assert "客单价" in csv_header(api)
    assert "Avg order value" in csv_header(api, lang="en")
    resp = api.client.get("/reports/daily", params={"token": api.admin, "day": "2026-11-26"})
    assert resp.status_code == 200 and "客单价" in resp.text
    # A floor that renames nothing hands its pages no labels of its own.
    _, page = get_page(api, "/lead")
    assert "floor-labels" not in page.ids()


@pytest.fixture
def renamed(db_url, tmp_path, engine):
    """An app whose floor calls average order value 件单价 / "value per sale"."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import Api, test_settings

    settings = test_settings(
        db_url,
        tmp_path,
        labels="avg_order_value=件单价/value per sale,dials=外呼量/Calls,contact_rate=接通率/reach",
    )
    with TestClient(create_app(settings)) as client:
        yield Api(client, engine)


def test_a_floors_own_label_reaches_pages_scripts_reports_and_exports(renamed):
    api = renamed
    header = csv_header(api)
    assert "件单价" in header and "外呼量" in header and "客单价" not in header
    assert "value per sale" in csv_header(api, lang="en")
    report = api.client.get("/reports/daily", params={"token": api.admin, "day": "2026-11-26"})
    assert "件单价" in report.text and "客单价" not in report.text
    # The page's scripts get the same names (makeI18n reads them): data, not code.
    resp, page = get_page(api, "/lead", lang="en")
    [(attrs, body)] = [(a, b) for a, b in page.scripts if a.get("id") == "floor-labels"]
    assert attrs.get("type") == "application/json" and not attrs.get("src")
    import json

    assert json.loads(body)["zh"] == {
        "avg_order_value": "件单价",
        "dials": "外呼量",
        "contact_rate": "接通率",
    }
    assert json.loads(body)["en"]["avg_order_value"] == "value per sale"
    # Server-rendered labels too, in the page's own language.
    assert "Calls" in resp.text


def test_a_bad_label_setting_names_the_setting_and_the_key():
    from app.config import SettingsError, load_settings

    for bad, why in [("aov=x/y", "'aov' is not a label"), ("dials", "is not key=中文/English")]:
        with pytest.raises(SettingsError, match=re.escape(why)) as err:
            load_settings(labels=bad, _env_file=None)
        assert "PACEBOARD_LABELS" in str(err.value)


def test_a_floors_own_label_names_the_factor_in_the_snapshots_diagnosis(renamed):
    from tests.conftest import spread

    api, day = renamed, "2026-11-24"
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    calls = []
    for code, answered_every in (("a1", 6), ("a2", 2), ("a3", 2)):
        rep = {"code": code, "name": code, "team": "A", "hired_on": "2025-01-01"}
        api.call("POST", "/api/v1/reps", json=rep)
        batch = spread(code, 30, f"{day}T09:30:00+08:00", f"{day}T10:40:00+08:00")
        for i, r in enumerate(batch):
            r["customer"] = f"13{ord(code[1]):03d}00{i:04d}"
            if i % answered_every:
                r.update(disposition="no_answer", talk_seconds=0)
        calls += batch
    api.post_calls(calls)
    snap = api.snapshot(day, at=f"{day}T10:40:00+08:00")
    a1 = next(r for r in snap["reps"] if r["code"] == "a1")
    contact = next(d for d in a1["diagnosis"] if d["factor"] == "contact_rate")
    assert contact["text"]["zh"].startswith("接通率 ")
    assert contact["text"]["en"].startswith("reach ")
