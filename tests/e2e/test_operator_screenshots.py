"""Screenshots for docs/operators.md, taken by a real headless Chromium driving the real
Temporal Web UI of the test stack: the saved queries, a consultation's summary and
current details, a follow-up's pending timer with its summary.

Chromium and a CJK font come from Debian's packages, installed by `make test`
(the Makefile's `browser` target); Playwright drives /usr/bin/chromium, never a
browser of its own.
"""

from __future__ import annotations

import os
import re
import tempfile
import shutil
from pathlib import Path
from urllib.parse import quote, urljoin

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.test_follow_up import EDU, create_commitment, escalations, ladder_steps
from tests.e2e.test_walking_skeleton import KINDERGARTEN, eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
# Written to a temporary folder unless XIESHANG_SCREENSHOT_DIR says otherwise; refresh the
# documentation's images with XIESHANG_SCREENSHOT_DIR=docs/operators make test.
SHOTS = Path(os.environ.get("XIESHANG_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "xieshang-screenshots")
# Flags that keep Chromium from calling out of this machine (see the env notes).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} is not installed (make test installs Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture(scope="module")
def browser_page():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must take the operator screenshots: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        yield page
        browser.close()


def shoot(page, url: str, name: str, wait_for_text: str, tab: str | None = None) -> str:  # noqa: ANN001
    page.goto(url, wait_until="load")
    if tab:
        # Follow the tab's link: while decoded payloads re-render the page, the tab may
        # never be "stable" enough for a click under load.
        link = page.get_by_text(tab, exact=True).first
        link.wait_for(state="attached", timeout=20_000)
        page.goto(urljoin(url, link.get_attribute("href")), wait_until="load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    try:
        # The UI renders summaries and details as markdown inside iframes: look in every frame.
        for _ in range(100):
            if wait_for_text in all_text(page):
                break
            page.wait_for_timeout(200)
        page.wait_for_timeout(500)  # let the last frame paint
    finally:
        page.screenshot(path=str(path), full_page=False)  # also when the text never came: it shows why
    text = all_text(page)
    assert wait_for_text in text, f"{name}: '{wait_for_text}' not shown"
    return text


def all_text(page) -> str:  # noqa: ANN001
    parts = []
    for frame in page.frames:
        try:
            parts.append(frame.content())
        except Exception:  # noqa: BLE001 - a frame may be navigating
            continue
    return "\n".join(parts)


def operator_codec(page, stack: Stack) -> None:
    """What an operator's browser does once the codec endpoint is set with their token
    (docs/operators.md): the UI's calls to intake's /codec carry an operator token."""
    token = stack.token(Role.OPERATOR, subject="operator-screenshots")

    def authorise(route) -> None:
        route.continue_(headers={**route.request.headers, "authorization": f"Bearer {token}"})

    page.route(re.compile(r".*/codec/(de|en)code(\?.*)?$"), authorise)  # the UI adds a query string


def test_operator_views_in_the_web_ui(stack: Stack, browser_page) -> None:
    if stack.backend != "sqlite":
        pytest.skip("the screenshots are taken once per run, on the SQLite stack")
    ui = stack.devstack.temporal_ui_url
    topic = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN, headers=stack.auth(Role.CLERK)).json()
    operator_codec(browser_page, stack)  # without it the UI shows payloads still encrypted
    # An overdue follow-up at level 2 whose next timer (会议督办) is pending for a while.
    c = create_commitment(stack, due_in=1, scale=5)
    eventually(lambda: "urge" in ladder_steps(escalations(stack, c["id"])), timeout=30, what="催办")

    query = f"WorkflowType = 'FollowUpWorkflow' AND Department = '{EDU}' AND EscalationLevel >= 1 AND Overdue = true"
    html = shoot(browser_page, f"{ui}/namespaces/default/workflows?query={quote(query)}", "saved-query-overdue",
                 f"followup-{c['id']}")
    assert f"followup-{c['id']}" in html

    html = shoot(browser_page, f"{ui}/namespaces/default/workflows/{topic['workflow_id']}", "consultation-summary",
                 "议题", tab="User Metadata")
    # The summary names the topic by id and channel, never by its title (redact.py).
    assert f"议题 #{topic['id']}" in html

    html = shoot(browser_page, f"{ui}/namespaces/default/workflows/followup-{c['id']}", "followup-pending-timer",
                 "督办 (level 2)")  # the pending timer's summary names the next rung
    html = shoot(browser_page, f"{ui}/namespaces/default/workflows/followup-{c['id']}", "followup-details",
                 f"承诺 #{c['id']}", tab="User Metadata")
    # Level 1 or higher: on a loaded machine the ladder may have climbed on meanwhile.
    assert re.search(r"escalation level: [1-4]", html), html[-400:]
    for name in ("saved-query-overdue", "consultation-summary", "followup-pending-timer", "followup-details"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
