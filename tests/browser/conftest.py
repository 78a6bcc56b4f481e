"""Browser tests: Playwright driving Debian's chromium against a live server and a real worker.

``make test`` installs chromium when /usr/bin/chromium is missing (scripts/run_tests.py); a run
without it skips these tests and says so loudly. Screenshots go to var/test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform.conftest import (  # noqa: F401  (fixtures shared with the platform tests)
    _plain_http,
    _platform_test_settings,
    alice,
    alice_org,
    celery_worker_process,
    django_db_setup,
    media_root,
    worker,
)
from tests.platform.helpers import ROOT


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test's thread, and Django refuses ORM
    calls from a thread with a running loop; the tests' own ORM calls stay synchronous and
    safe. Set only while browser tests run (they run in their own pytest process), so it never
    leaks into the other tests' environment."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_SELECTED = pytest.StashKey[bool]()
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"
MISSING = (
    "BROWSER TESTS SKIPPED: /usr/bin/chromium is missing. `make test` installs it "
    "(apt-get install -y chromium); CI must have it."
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After the marker expression has deselected what a run leaves out: only a run that
    selects browser tests needs chromium."""
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    config.stash[BROWSER_SELECTED] = bool(browser_items)
    if browser_items and not CHROMIUM.exists():
        if os.environ.get("CI", "").strip().lower() == "true":
            raise pytest.UsageError(f"CI=true and {MISSING}")
        for item in browser_items:
            item.add_marker(pytest.mark.skip(reason=MISSING))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists() and config.stash.get(BROWSER_SELECTED, False):
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Root in a container has no user namespaces for chromium's sandbox.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def plain_http_cookies(settings) -> None:
    """The live server speaks plain HTTP: cookies must not require HTTPS there."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def screenshot() -> object:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
