"""The SVG charts: values read back from the drawn elements, user data
escaped in every context, ticks, units and binning."""

import xml.etree.ElementTree as ET

import pytest
from zope.interface.verify import verifyObject

from cybertools_tracking.charts import (
    BarChart, ColumnChart, IChart, LineChart, StackedChart, escape,
    foldSeries, formatDuration, formatNumber, histogram, niceTicks, regroup,
    top)
from cybertools_tracking.usage import Timer

SVG = '{http://www.w3.org/2000/svg}'
NASTY = ['<img src=x onerror="window.__x=1">',
         '"><script>window.__x=1</script>',
         "it's & <b>bold</b>", 'tab\there\x00nul\x1b']


def parse(chart):
    """The chart as a standalone SVG document (XML): its root."""
    return ET.fromstring(chart.render())


def drawn(chart):
    """What the drawn elements say: (series?, label, value) per value."""
    result = []
    for el in parse(chart).iter():
        if el.get('class') == 'value':
            value = float(el.get('data-value'))
            if 'data-series' in el.attrib:
                result.append((el.get('data-series'), el.get('data-label'),
                               value))
            else:
                result.append((el.get('data-label'), value))
    return result


def allCharts(labels, values):
    pairs = list(zip(labels, values))
    return [ColumnChart('c', pairs), LineChart('l', pairs),
            BarChart('b', pairs),
            StackedChart('s', labels, [('one', values), ('two', values)])]


@pytest.mark.parametrize('chart', allCharts(['a'], [1]))
def test_every_kind_provides_ichart(chart):
    assert verifyObject(IChart, chart)
    root = parse(chart)
    assert root.tag == SVG + 'svg'
    assert root.get('data-kind') == chart.kind


@pytest.mark.parametrize('kind', [ColumnChart, LineChart, BarChart])
def test_values_read_back_exactly(kind):
    pairs = [('2026-01-01', 3), ('2026-01-02', 0), ('2026-01-03', 0.1),
             ('2026-01-04', 1234567.125), ('2026-01-05', -7)]
    chart = kind('t', pairs)
    assert drawn(chart) == [(label, float(v)) for label, v in pairs]
    assert chart.values() == pairs
    titles = [el.findtext(SVG + 'title') for el in parse(chart).iter()
              if el.get('class') == 'value']
    assert titles[3] == '2026-01-04: 1,234,567'
    assert titles[4] == '2026-01-05: -7'


def test_stacked_values_and_zero_segments():
    chart = StackedChart('s', ['d1', 'd2', 'd3'],
                         [('on', [1, 0, 2]), ('off', [0, 4, 1])])
    assert drawn(chart) == [('on', 'd1', 1), ('on', 'd3', 2),
                            ('off', 'd2', 4), ('off', 'd3', 1)]
    assert chart.values() == [('on', 'd1', 1), ('on', 'd2', 0),
                              ('on', 'd3', 2), ('off', 'd1', 0),
                              ('off', 'd2', 4), ('off', 'd3', 1)]
    legend = [g.get('data-series') for g in parse(chart).iter(SVG + 'g')
              if g.get('class') == 'legend-item']
    assert legend == ['on', 'off']
    # Stacked: the second segment of d3 sits on top of the first.
    rects = {(r.get('data-series'), r.get('data-label')): r
             for r in parse(chart).iter(SVG + 'rect')
             if r.get('class') == 'value'}
    lower, upper = rects[('on', 'd3')], rects[('off', 'd3')]
    assert float(upper.get('y')) + float(upper.get('height')) == \
        pytest.approx(float(lower.get('y')))


def test_column_heights_follow_values():
    chart = ColumnChart('t', [('a', 1), ('b', 2), ('c', 4)])
    heights = [float(r.get('height')) for r in parse(chart).iter(SVG + 'rect')
               if r.get('class') == 'value']
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == pytest.approx(4 * heights[0])


@pytest.mark.parametrize('chart', allCharts(NASTY, [1, 2, 3, 4]) + [
    ColumnChart(NASTY[0], [('a', 1)]), BarChart(NASTY[1], [], note=NASTY[1])])
def test_user_text_is_escaped_everywhere(chart):
    markup = chart.render()
    # No markup from the data: no element or attribute it could add.
    assert '<script' not in markup and '<img' not in markup
    assert '<b>' not in markup
    root = ET.fromstring(markup)          # still well-formed XML
    tags = {el.tag for el in root.iter()}
    assert tags <= {SVG + t for t in ('svg', 'title', 'text', 'g', 'rect',
                                      'line', 'circle', 'path')}
    # And the text reads back as given (XML-invalid characters replaced).
    readable = {n.replace('\x00', '\ufffd').replace('\x1b', '\ufffd')
                for n in NASTY}
    if chart.title in NASTY:
        assert root.get('data-title') == chart.title
        assert root.findtext(SVG + 'title') == chart.title
    else:
        labels = {el.get('data-label') for el in root.iter()} - {None}
        assert labels == readable


def test_escape_covers_text_and_attributes():
    assert escape('<a href="x">&\'</a>') == \
        '&lt;a href=&quot;x&quot;&gt;&amp;&#x27;&lt;/a&gt;'
    assert escape('\x00\x1f\ud800ok') == '\ufffd\ufffd\ufffdok'
    assert escape(12) == '12'
    # Whitespace as references, so attributes keep it through XML.
    assert escape('a\tb\n') == 'a&#9;b&#10;'


def test_empty_chart_says_no_data():
    for chart in allCharts([], []):
        root = parse(chart)
        assert [el.text for el in root.iter()
                if el.get('class') == 'no-data'] == ['no data']
        assert drawn(chart) == []


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), '3', None,
                                 True])
def test_values_must_be_finite_numbers(bad):
    with pytest.raises(ValueError, match='finite int or float'):
        ColumnChart('t', [('a', bad)])


def test_pairs_must_be_pairs():
    with pytest.raises(ValueError, match=r'\(label, value\) pairs'):
        BarChart('t', [('a', 1, 2)])


def test_stacked_refuses_bad_series():
    with pytest.raises(ValueError, match='one value per category'):
        StackedChart('s', ['a', 'b'], [('x', [1])])
    with pytest.raises(ValueError, match='must be >= 0'):
        StackedChart('s', ['a'], [('x', [-1])])
    with pytest.raises(ValueError, match='foldSeries'):
        StackedChart('s', ['a'], [(str(i), [1]) for i in range(10)])


def test_durations_read_as_the_original_formats_them():
    chart = ColumnChart('t', [('a', 5400), ('b', 90.5)], durations=True)
    titles = [el.findtext(SVG + 'title') for el in parse(chart).iter()
              if el.get('class') == 'value']
    assert titles == ['a: ' + Timer.format_time(5400),
                      'b: ' + Timer.format_time(90.5)]
    assert titles == ['a: 1 hours 30 minutes', 'b: 1 minutes 30 seconds']
    axis = [el.text for el in parse(chart).iter(SVG + 'text')
            if el.get('text-anchor') == 'end']
    assert axis == ['0 seconds', '30 minutes', '1 hours', '1 hours 30 minutes']


def test_format_duration():
    assert formatDuration(0) == '0 seconds'
    assert formatDuration(0.5) == '0.5 seconds'
    assert formatDuration(59) == '59 seconds'
    assert formatDuration(86400 + 3600 + 61) == '1 days 1 hours'
    assert formatDuration(86400 + 3600 + 61, units=3) == \
        '1 days 1 hours 1 minutes'
    assert formatDuration(-120) == '-2 minutes'


def test_format_number():
    assert formatNumber(1234567) == '1,234,567'
    assert formatNumber(2.0) == '2'
    assert formatNumber(0.125) == '0.125'
    assert formatNumber(12.3456) == '12.35'
    assert formatNumber(3.5e9) == '3,500,000,000'
    assert formatNumber(3.5e15) == '3.5e+15'


@pytest.mark.parametrize('low,high', [(0, 1), (0, 7), (-3, 12), (0, 0.37),
                                      (5, 5), (0, 123456), (1e-3, 2e-3)])
def test_ticks_cover_the_range_in_round_steps(low, high):
    ticks = niceTicks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    assert 2 <= len(ticks) <= 8


def test_duration_ticks_are_round_times():
    assert niceTicks(0, 5000, durations=True) == [0, 1800, 3600, 5400]
    assert niceTicks(0, 3 * 86400, durations=True)[1] == 86400
    assert niceTicks(0, 10, integers=True) == [0, 5, 10]


def test_histogram_counts_every_value_once():
    values = [i * 0.37 for i in range(10_000)]
    bins = histogram(values, bins=12)
    assert sum(count for _, count in bins) == len(values)
    assert 8 <= len(bins) <= 16
    # The first bin counts exactly the values below its upper edge.
    low, high = bins[0][0].split('\u2013')
    edge = float(high.replace(',', ''))
    assert bins[0][1] == sum(1 for v in values if v < edge)
    assert histogram([]) == []
    assert histogram([4, 4, 4]) == [('4\u20135', 3)]


def test_top_keeps_the_highest():
    pairs = [(f'u{i}', i % 97) for i in range(1000)]
    best, left = top(pairs, 5)
    assert [v for _, v in best] == [96] * 5
    assert [label for label, _ in best] == ['u193', 'u290', 'u387', 'u484',
                                           'u581']     # ties by label
    assert left == 995


def test_fold_series_sums_the_smallest():
    series = [(f's{i}', [i, 1]) for i in range(12)]
    folded = foldSeries(series, limit=4)
    assert [name for name, _ in folded] == ['s9', 's10', 's11', '9 others']
    assert folded[-1][1] == [sum(range(9)), 9]
    assert foldSeries(series[:3], limit=4) == series[:3]


def test_regroup_days_into_weeks():
    days = [f'd{i}' for i in range(10)]
    series = [('on', list(range(10))), ('off', [1] * 10)]
    labels, last = regroup(days, series, 7)
    assert labels == ['d0', 'd7']
    assert last == [('on', [6, 9]), ('off', [1, 1])]
    assert regroup(days, series, 7, keep='sum')[1] == [
        ('on', [21, 24]), ('off', [7, 3])]
    with pytest.raises(ValueError, match="'last' or 'sum'"):
        regroup(days, series, 7, keep='mean')
    with pytest.raises(ValueError, match='int >= 1'):
        regroup(days, series, 0)


def test_histogram_of_durations_has_round_times():
    bins = histogram([30, 600, 1700, 3500], bins=4, durations=True)
    assert bins == [('0 seconds\u201315 minutes', 2),
                    ('15 minutes\u201330 minutes', 1),
                    ('30 minutes\u201345 minutes', 0),
                    ('45 minutes\u20131 hours', 1)]


def test_the_value_axis_makes_room_for_long_time_labels():
    import re as _re
    columns = [(str(day), 5400) for day in range(30)]
    short = ColumnChart('counts', columns).render()
    long_ = ColumnChart('times', columns, durations=True).render()
    assert '1 hours 30 minutes' in long_

    def firstColumn(svg):
        return float(_re.search(r'<rect class="value" x="([\d.]+)"',
                                svg).group(1))
    # The widest label, right-aligned 6 px left of the plot, starts
    # inside the chart; plain numbers keep the narrow margin.
    assert firstColumn(long_) > len('1 hours 30 minutes') * 6.2
    assert firstColumn(short) < firstColumn(long_)
