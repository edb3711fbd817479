"""Browser fixtures: Debian's Chromium driven by Playwright against a real server.

Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``; never ``playwright install``).
Without it, or without the ``playwright`` package, these tests skip with the reason, unless
``PACEBOARD_TEST_REQUIRE_BROWSER=1`` (CI), where they fail instead.

Every page a test opens is watched: console errors and uncaught exceptions fail the test
(:class:`ConsoleWatch`; a test may excuse specific network errors while it has taken the server
down on purpose). Screenshots go to ``test-artifacts/<test name>-<label>.png`` (a test's pictures
from an earlier run are removed when it starts), and one of every open page when a test fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, sqlite_db

CHROMIUM = os.environ.get("PACEBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("PACEBOARD_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = ROOT / "test-artifacts"

CONSOLE_KEY = pytest.StashKey["ConsoleWatch"]()
PAGES_KEY = pytest.StashKey[list]()


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"PACEBOARD_TEST_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the browser tests.

    Package-scoped rather than session-scoped on purpose: while Playwright's sync API is alive
    it leaves its event loop registered as this thread's running loop, so every later test that
    calls ``asyncio.run`` (tests/live) would fail with "cannot be called from a running event
    loop". Package scope shuts it down once the last test here has run.
    """
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        _unavailable(f"the playwright package is not installed ({exc}): pip install -e '.[dev]'")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    pw = sync_playwright().start()
    try:
        try:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, env=browser_env()
            )
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield chromium
        chromium.close()
    finally:
        pw.stop()


def browser_env() -> dict[str, str]:
    """The browser's environment: ours, less libfaketime. Under a faked clock (the README's
    faketime run) Chromium hangs on page loads; a TV's clock is its own anyway, and the pages
    take the floor's time from the server."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FAKETIME") and not (k == "LD_PRELOAD" and "faketime" in v)
    }


@pytest.fixture(autouse=True)
def _artifacts(request) -> Path:
    """test-artifacts/ exists, without this test's pictures from an earlier run."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(_artifact_name(request.node.name, "*").name):
        old.unlink(missing_ok=True)
    return ARTIFACTS


@dataclass
class ConsoleWatch:
    """Console errors and uncaught page exceptions of every page of one test.

    ``excused`` patterns (see :meth:`excuse`) drop matching *console* messages only: an
    uncaught exception is a page bug whatever the network did.
    """

    errors: list[str] = field(default_factory=list)
    excused: list[str] = field(default_factory=list)
    _patterns: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, page: Any, label: str) -> None:
        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            where = msg.location.get("url", "") if msg.location else ""
            text = f"{label}: console.error: {msg.text} ({where})"
            if any(p.search(msg.text) for p in self._patterns):
                self.excused.append(text)
            else:
                self.errors.append(text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{label}: uncaught: {exc}"))

    @contextmanager
    def excuse(self, *patterns: str) -> Iterator[None]:
        """Within the block, console errors matching any regex in ``patterns`` do not fail."""
        compiled = [re.compile(p) for p in patterns]
        self._patterns.extend(compiled)
        try:
            yield
        finally:
            for p in compiled:
                self._patterns.remove(p)


def _artifact_name(node_name: str, label: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", node_name).strip("_")
    return ARTIFACTS / f"{safe}-{re.sub(r'[^A-Za-z0-9_.*-]+', '_', label)}.png"


@pytest.fixture
def console(request) -> ConsoleWatch:
    """This test's console watch (the hook below fails the test on any error it collected)."""
    watch = request.node.stash.get(CONSOLE_KEY, None)
    if watch is None:
        watch = request.node.stash[CONSOLE_KEY] = ConsoleWatch()
    return watch


@pytest.fixture
def new_page(browser, console, request) -> Iterator[Callable[..., Any]]:
    """``new_page(label, width=, height=)``: a fresh page in this test's own browser context."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    pages: list[tuple[str, Any]] = request.node.stash.setdefault(PAGES_KEY, [])

    def make(label: str = "page", width: int = 1920, height: int = 1080) -> Any:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        console.attach(page, label)
        pages.append((label, page))
        return page

    yield make
    context.close()


@pytest.fixture
def page(new_page) -> Any:
    return new_page("page")


@pytest.fixture
def screenshot(request) -> Callable[[Any, str], Path]:
    """``screenshot(page, label)`` saves test-artifacts/<test>-<label>.png and returns the path."""

    def take(page: Any, label: str) -> Path:
        path = _artifact_name(request.node.name, label)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose pages logged console errors, even when its own asserts passed."""
    try:
        result = yield
    except BaseException:
        _failure_screenshots(item)
        raise
    watch = item.stash.get(CONSOLE_KEY, None)
    if watch is not None and watch.errors:
        _failure_screenshots(item)
        pytest.fail("the page logged errors:\n  " + "\n  ".join(watch.errors[:20]), pytrace=False)
    return result


def _failure_screenshots(item: pytest.Item) -> None:
    for label, page in item.stash.get(PAGES_KEY, []):
        try:
            if not page.is_closed():
                page.screenshot(path=str(_artifact_name(item.name, f"{label}-failed")))
        except Exception:  # the browser may be what failed; the test's own error says more
            pass


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    """SQLite only: the pages and the socket do not depend on the engine (tests/live and the
    service tests cover both), and a browser run per engine would double the slowest tests."""
    return sqlite_db(sqlite_template, tmp_path)
