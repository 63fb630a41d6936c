"""The dashboard in real headless Chromium against ``hq serve`` running as
a process on 127.0.0.1, with data uploaded by the project's own tracker:
log in, open an application, read the values out of the drawn SVG, change
a filter, and hostile names stay text on every page."""

import subprocess
import sys

import pytest

from browser import browser, chromium  # noqa: F401 (fixtures)
from cybertools_tracking.usage import AnonymousUsageTracker
from hq_processes import HQProcess, addKey
from test_report import NASTY_NAME, NASTY_STATE
from test_report_browser import READ_CHARTS

PASSWORD = 'correct horse battery'
# (user, version, saves, seconds in the app, theme)
USERS = [('user-1', '3.1', 4, 3725.5, 'dark'),
         ('user-2', '3.2', 7, 90.0, NASTY_STATE),
         ('user-3', '3.2', 2, 45.25, 'dark')]


@pytest.fixture(autouse=True)
def _direct(monkeypatch):
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.delenv('DO_NOT_TRACK', raising=False)


def addUser(db, group, user, password):
    done = subprocess.run(
        [sys.executable, '-m', 'cybertools_tracking', 'hq', 'add-user',
         '--db', str(db), '--group', group, user], input=password + '\n',
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def served(tmp_path):
    db = tmp_path / 'hq.fs'
    uploadKey = addKey(db, 'acme')
    addUser(db, 'acme', 'ann', PASSWORD)
    hq = HQProcess(db, logDir=tmp_path).start()
    try:
        for user, version, saves, seconds, theme in USERS:
            with AnonymousUsageTracker(
                    user, tmp_path / f'{user}.fs', application_name='Editor',
                    application_version=version) as t:
                t.track_statistic('saves')
                t.track_time('time in app')
                t.track_state('theme', 'light')
                t.track_statistic(NASTY_NAME)
                for _ in range(saves):
                    t['saves'] += 1
                t['time in app'] += seconds
                t['theme'] = theme
                t[NASTY_NAME] += 1
                t.setup_hq(hq.url, uploadKey)
                assert t.submit_statistics(), hq.log
        yield hq
    finally:
        hq.stop()


def charts(page):
    return {c['title']: c for c in page.evaluate(READ_CHARTS)}


def values(chart):
    return [(v['label'], v['value']) for v in chart['values']]


def hostileStaysText(page):
    assert page.evaluate('window.__x') is None
    assert page.locator('script').count() == 0
    assert page.locator('img').count() == 0


def test_log_in_read_the_charts_and_filter(browser, served, tmp_path):
    shown = browser(served.url + '/', allow=(served.url,))
    page = shown.page
    assert page.url.startswith(served.url + '/login')
    hostileStaysText(page)
    page.fill('input[name=user]', 'ann')
    page.fill('input[name=password]', 'wrong')
    with page.expect_navigation():
        page.click('form.login button')
    assert 'Wrong user name or password' in page.content()
    page.fill('input[name=user]', 'ann')
    page.fill('input[name=password]', PASSWORD)
    with page.expect_navigation():
        page.click('form.login button')
    page.wait_for_selector('table.applications')
    assert page.locator('table.applications td').all_text_contents()[:3] \
        == ['Editor', '3.1, 3.2', '3']
    hostileStaysText(page)
    with page.expect_navigation():
        page.click('text=Editor')
    page.wait_for_selector('svg.chart')
    hostileStaysText(page)

    drawn = charts(page)
    for chart in drawn.values():
        assert chart['width'] > 200 and chart['height'] > 60, chart
    saves = {user: n for user, _, n, _, _ in USERS}
    assert values(drawn['saves: top users']) == sorted(
        saves.items(), key=lambda p: -p[1])
    # Every value was uploaded today: one day, their sum.
    daily = drawn['saves: added across users each day']['values']
    assert len(daily) == 1 and daily[0]['value'] == sum(saves.values())
    assert sorted(values(drawn['time in app: top users'])) == sorted(
        (user, seconds) for user, _, _, seconds, _ in USERS)
    assert sorted(values(drawn['theme: users per state'])) == [
        (NASTY_STATE, 1), ('dark', 2)]
    assert values(drawn[f'{NASTY_NAME}: top users'])[0][1] == 1
    # Bars drawn to scale: 7 : 4 : 2.
    bars = page.locator('svg[data-title="saves: top users"] .value') \
        .evaluate_all('els => els.map(e => e.getBBox().width)')
    assert bars == pytest.approx([7 * bars[2] / 2, 4 * bars[2] / 2,
                                  bars[2]], abs=0.05)
    # Timer values in readable units.
    assert '1 hours 2 minutes' in page.locator(
        'svg[data-title="time in app: top users"]').text_content()
    page.screenshot(path=str(tmp_path / 'dashboard.png'), full_page=True)
    assert (tmp_path / 'dashboard.png').read_bytes()[:4] == b'\x89PNG'

    page.select_option('select[name=version]', '3.2')
    with page.expect_navigation():
        page.click('form.filters button')
    page.wait_for_url('**version=3.2**')
    filtered = charts(page)
    assert values(filtered['saves: top users']) == [('user-2', 7),
                                                     ('user-3', 2)]
    assert filtered['saves: added across users each day']['values'][0][
        'value'] == 9
    assert sorted(values(filtered['theme: users per state'])) == [
        (NASTY_STATE, 1), ('dark', 1)]
    hostileStaysText(page)
    page.screenshot(path=str(tmp_path / 'filtered.png'), full_page=True)

    # An alias names user-2 in every chart; "aliased only" keeps them.
    with page.expect_navigation():
        page.click('nav >> text=Aliases')
    page.fill('form.alias input[name=user]', 'user-2')
    page.fill('form.alias input[name=alias]', NASTY_NAME)
    with page.expect_navigation():
        page.click('form.alias button')
    page.wait_for_selector('table')
    hostileStaysText(page)
    page.goto(served.url + '/application?name=Editor&users=aliased')
    aliased = charts(page)
    assert values(aliased['saves: top users']) == [(NASTY_NAME, 7)]
    hostileStaysText(page)

    # A saved plot of two statistics, as the original drew them.
    page.check('form.plot input[value="saves"]')
    page.check('form.plot input[value="time in app"]')
    page.fill('form.plot input[name=plot]', NASTY_STATE)
    with page.expect_navigation():
        page.click('form.plot button')
    assert 'users=aliased' in page.url
    plot = charts(page)[NASTY_STATE]
    assert values(plot) == [('saves', 7), ('time in app', 90)]
    hostileStaysText(page)
    # Nothing was fetched from anywhere but the HQ.
    assert shown.blocked == []
    assert all(url.startswith(served.url) for url in shown.requests)
