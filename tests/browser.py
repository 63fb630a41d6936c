"""Pages in a real browser: Debian's chromium, headless, driven by
playwright (``executable_path``: playwright's own browser download is
never used).

``browser`` is a fixture giving ``open(url, allow=('file:',))``: a new
page in a fresh context that loads url with every request whose URL
does not start with one of allow aborted, and recorded. Outside CI a
missing chromium or playwright skips the test saying what to install;
with CI=true it fails.
"""

import os
from dataclasses import dataclass, field

import pytest

CHROMIUM = '/usr/bin/chromium'
# Headless, and nothing of the browser's own talking to the network
# (updates, sync, safe browsing lists), so a page's requests are the
# only requests.
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


def inCI():
    return os.environ.get('CI', '').lower() in ('true', '1')


def unavailable(reason):
    if inCI():
        pytest.fail(f'{reason} (CI=true: browser tests may not skip)')
    pytest.skip(reason)


@dataclass
class BrowserPage:
    """A loaded page and every request it attempted (URLs, in order),
    ``blocked`` the ones refused."""

    page: object
    requests: list = field(default_factory=list)
    blocked: list = field(default_factory=list)


# Test modules import these fixtures, so pytest keeps a session fixture
# per module; playwright's sync API allows one driver per process, so
# they share one browser, closed when the last of them is done.
_shared = {}


@pytest.fixture(scope='session')
def chromium():
    if not os.path.exists(CHROMIUM):
        unavailable(f'{CHROMIUM} is missing: apt-get install chromium')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is missing: pip install '.[test]'")
    if not _shared:
        driver = sync_playwright().start()
        browser = driver.chromium.launch(executable_path=CHROMIUM,
                                         args=CHROMIUM_ARGS, headless=True)
        _shared.update(driver=driver, browser=browser, users=0)
    _shared['users'] += 1
    yield _shared['browser']
    _shared['users'] -= 1
    if not _shared['users']:
        _shared['browser'].close()
        _shared['driver'].stop()
        _shared.clear()


@pytest.fixture
def browser(chromium):
    contexts = []

    def open_(url, allow=('file:',), viewport=(1360, 900)):
        context = chromium.new_context(
            viewport={'width': viewport[0], 'height': viewport[1]})
        contexts.append(context)
        result = BrowserPage(page=None)

        def gate(route):
            address = route.request.url
            if address.startswith(allow):
                route.continue_()
            else:
                result.blocked.append(address)
                route.abort()

        context.route('**/*', gate)
        page = context.new_page()
        page.on('request', lambda request: result.requests.append(
            request.url))
        result.page = page
        page.goto(url)
        return result

    yield open_
    for context in contexts:
        context.close()
