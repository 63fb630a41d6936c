"""The report in real headless Chromium, offline: its charts show, the
values read out of the drawn SVG are what the tracker recorded, and
hostile names and states stay text."""

import datetime

import pytest

from browser import browser, chromium  # noqa: F401 (fixtures)
from cybertools_tracking.charts import ColumnChart, StackedChart
from cybertools_tracking.cli import main
from test_report import (CLICKS, NASTY_NAME, NASTY_STATE, SECONDS, THEMES,
                         record)

READ_CHARTS = '''() => Array.from(document.querySelectorAll('svg.chart'),
  svg => ({
    title: svg.dataset.title,
    width: svg.getBoundingClientRect().width,
    height: svg.getBoundingClientRect().height,
    values: Array.from(svg.querySelectorAll('.value'), el => ({
      series: el.dataset.series === undefined ? null : el.dataset.series,
      label: el.dataset.label,
      value: Number(el.dataset.value),
      drawn: el.getBBox().height })) }))'''


@pytest.fixture
def reportFile(tmp_path):
    db = str(tmp_path / 'usage.fs')
    runs = record(db)
    out = tmp_path / 'report.html'
    assert main(['report', '--db', db, '--html', str(out)]) == 0
    return out, runs


def test_report_offline_shows_what_was_recorded(browser, reportFile,
                                                tmp_path):
    out, runs = reportFile
    shown = browser(out.as_uri())
    page = shown.page
    charts = {c['title']: c for c in page.evaluate(READ_CHARTS)}
    # Every chart is laid out on the page, not just present.
    # Two of each of 3 counting trackables, three of the state.
    assert len(charts) == 3 * 2 + 3
    for chart in charts.values():
        assert chart['width'] > 200 and chart['height'] > 60, chart
    drawn = page.locator('svg.chart')
    assert all(drawn.nth(i).is_visible() for i in range(drawn.count()))
    sessions = charts['clicks: value added in each session']['values']
    assert [v['value'] for v in sessions] == CLICKS
    assert [v['label'].split()[0] for v in sessions] == \
        [f'#{run}' for run in runs]
    # The columns are drawn to scale, 3 : 5 : 2 (coordinates are
    # written to two decimals).
    unit = sessions[0]['drawn'] / CLICKS[0]
    assert [v['drawn'] for v in sessions] == pytest.approx(
        [c * unit for c in CLICKS], abs=0.02)
    today = datetime.date.today().isoformat()
    daily = charts['time in app: time at the end of each day']['values']
    assert [(v['label'], v['value']) for v in daily] == [
        (today, sum(SECONDS))]
    timed = charts['time in app: time added in each session']['values']
    assert [v['value'] for v in timed] == SECONDS
    states = charts['theme: state at the end of each session']['values']
    assert [(v['series'], v['value']) for v in states] == [
        (theme, 1) for theme in THEMES]
    # Hover text in readable time units, as the original formats them.
    title = page.locator(
        'svg[data-title="time in app: time added in each session"] '
        '.value title').nth(2).text_content()
    assert title.endswith(': 4 minutes 30 seconds')
    # Offline: the file asked for nothing but itself.
    assert shown.requests == [out.as_uri()]
    assert shown.blocked == []
    page.screenshot(path=str(tmp_path / 'report.png'), full_page=True)
    assert (tmp_path / 'report.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def _hostileStaysText(page):
    assert page.evaluate('window.__x') is None
    assert page.locator('img').count() == 0
    assert page.locator('script').count() == 0
    headings = page.locator('section.trackable h2').all_text_contents()
    assert NASTY_NAME in headings
    legend = page.locator('.legend-item').evaluate_all(
        'items => items.map(i => i.dataset.series)')
    assert NASTY_STATE in legend


def test_hostile_names_never_run(browser, reportFile):
    out, _ = reportFile
    _hostileStaysText(browser(out.as_uri()).page)


def test_hostile_names_never_run_without_the_policy(browser, reportFile,
                                                    tmp_path):
    """Escaping alone keeps them text: the same page with its
    Content-Security-Policy taken out."""
    out, _ = reportFile
    text = out.read_text(encoding='utf-8')
    start = text.index('<meta http-equiv="Content-Security-Policy"')
    bare = text[:start] + text[text.index('>', start) + 1:]
    assert 'Content-Security-Policy' not in bare
    unguarded = tmp_path / 'unguarded.html'
    unguarded.write_text(bare, encoding='utf-8')
    _hostileStaysText(browser(unguarded.as_uri()).page)


def test_a_chart_alone_as_an_svg_document(browser, tmp_path):
    """Served on its own (as the HQ may), a chart is parsed as XML."""
    chart = StackedChart(NASTY_NAME, [NASTY_STATE, 'b'],
                         [(NASTY_STATE, [1, 2]), (NASTY_NAME, [3, 0])])
    path = tmp_path / 'chart.svg'
    path.write_text(chart.render(), encoding='utf-8')
    page = browser(path.as_uri()).page
    assert page.evaluate('window.__x') is None
    values = page.locator('.value').evaluate_all(
        'els => els.map(e => [e.dataset.series, e.dataset.label, '
        'Number(e.dataset.value)])')
    assert values == [[NASTY_STATE, NASTY_STATE, 1], [NASTY_STATE, 'b', 2],
                      [NASTY_NAME, NASTY_STATE, 3]]
    assert page.locator('svg > title').text_content() == NASTY_NAME
    plain = tmp_path / 'plain.svg'
    plain.write_text(ColumnChart('t', [('a', 2)]).render(), encoding='utf-8')
    box = browser(plain.as_uri()).page.locator('.value').bounding_box()
    assert box['height'] > 100


def test_the_gate_records_and_blocks_what_a_page_asks_for(browser,
                                                         tmp_path):
    """What makes 'no request left the report' worth asserting: a page
    that does ask is seen and refused (a TEST-NET address, never
    reached)."""
    page = tmp_path / 'leaky.html'
    page.write_text('<!DOCTYPE html><img src="http://192.0.2.1/x.png">'
                    '<link rel="stylesheet" href="https://192.0.2.1/s.css">',
                    encoding='utf-8')
    shown = browser(page.as_uri())
    shown.page.wait_for_load_state('load')
    assert sorted(shown.blocked) == ['http://192.0.2.1/x.png',
                                     'https://192.0.2.1/s.css']
    assert shown.requests[0] == page.as_uri()
    assert set(shown.requests[1:]) == set(shown.blocked)
