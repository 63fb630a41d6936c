"""The chart kinds: columns (days, sessions, histogram bins), a line (a
long daily series), horizontal bars (states, top users) and stacked
columns (several series over days or sessions).

Charts take values already aggregated (see ``binning``): drawing costs
one element per value, so the caller decides how many there are.
"""

import math

from zope.interface import implementer

from cybertools_tracking.charts.interfaces import IChart
from cybertools_tracking.charts.svg import (
    element, number, shorten, text, tooltip, valueShape)
from cybertools_tracking.charts.units import (
    formatDuration, formatNumber, niceTicks)

SVG_NS = 'http://www.w3.org/2000/svg'
# Chosen to tell apart on screen and in grey print; the last is 'other'.
PALETTE = ('#3b6ea8', '#e07b39', '#4a9a5b', '#c94c4c', '#7a5ea8',
           '#3a9ea5', '#b8892e', '#c4609b', '#6b7b8c')
OTHER_COLOUR = '#a8a8a8'
INK = '#333333'
GRID = '#e3e3e3'
CHAR_WIDTH = 6.2        # of an 11 px sans-serif character, roughly

TOP = 30                # the title's band
LEFT = 78               # the value axis's labels
RIGHT = 12
BOTTOM = 34             # the category labels
LABEL_CHARS = 20        # a category label's longest shown form


def _checkValue(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ValueError(f'{what} must be a finite int or float, not '
                         f'{value!r}')
    return value


def _pairs(pairs, what):
    result = []
    for pair in pairs:
        try:
            label, value = pair
        except (TypeError, ValueError):
            raise ValueError(f'{what} must be (label, value) pairs, not '
                             f'{pair!r}') from None
        result.append((str(label), _checkValue(value, f'the value of '
                                                      f'{label!r}')))
    return result


class _Chart:

    kind = None
    width = 600
    height = 240

    def __init__(self, title, durations=False, width=None, height=None):
        self.title = str(title)
        self.durations = bool(durations)
        if width is not None:
            self.width = width
        if height is not None:
            self.height = height

    def format(self, value):
        return formatDuration(value) if self.durations \
            else formatNumber(value)

    def ticks(self, low, high):
        # Counts of things get whole-number ticks.
        integers = all(isinstance(v[-1], int) for v in self.values())
        return niceTicks(low, high, 5, durations=self.durations,
                         integers=integers)

    def render(self):
        height = self._height()
        body = self._body() if self.values() else text(
            self.width / 2, TOP + 40, 'no data', text_anchor='middle',
            fill='#888888', class_='no-data')
        head = (tooltip(self.title)
                + text(4, 17, self.title, font_size=13, font_weight='bold',
                       fill=INK, class_='chart-title'))
        return element(
            'svg', head + body, xmlns=SVG_NS, class_=f'chart chart-'
            f'{self.kind}', width=self.width, height=height,
            viewBox=f'0 0 {self.width} {height}', role='img',
            aria_label=self.title, font_family='sans-serif', font_size=11,
            data_kind=self.kind, data_title=self.title)

    def _height(self):
        return self.height

    def _left(self, ticks):
        # Room for the longest tick label ('1 hours 30 minutes'), never
        # less than LEFT.
        longest = max(len(self.format(tick)) for tick in ticks)
        return max(LEFT, round(longest * CHAR_WIDTH) + 12)

    def _valueAxis(self, ticks, scale, left, right):
        """Horizontal grid lines and their labels left of the plot."""
        parts = []
        for tick in ticks:
            y = scale(tick)
            parts.append(element('line', x1=float(left), x2=float(right),
                                 y1=y, y2=y, stroke=GRID))
            parts.append(text(left - 6, y + 4, self.format(tick),
                              text_anchor='end', fill=INK))
        return element('g', ''.join(parts), class_='axis axis-value')

    def _categoryLabels(self, labels, centre, y, room):
        """Labels under the columns, every k-th one when they do not fit
        side by side (the first and last always shown)."""
        if not labels:
            return ''
        longest = max(len(label) for label in labels)
        chars = min(longest, LABEL_CHARS)
        fit = max(int(room // (chars * CHAR_WIDTH + 8)), 1)
        every = math.ceil(len(labels) / fit)
        shown = set(range(0, len(labels), every))
        if len(labels) - 1 - max(shown) >= every / 2 or len(labels) == 1:
            shown.add(len(labels) - 1)
            shown.discard(max(shown - {len(labels) - 1}, default=None))
        parts = [text(centre(i), y, shorten(labels[i], LABEL_CHARS),
                      text_anchor='middle', fill=INK)
                 for i in sorted(shown)]
        return element('g', ''.join(parts), class_='axis axis-category')


def _linearScale(low, high, top, bottom):
    span = (high - low) or 1

    def scale(value):
        return bottom - (value - low) / span * (bottom - top)
    return scale


@implementer(IChart)
class ColumnChart(_Chart):
    """See IChart. One column per (label, value), in the order given;
    negative values hang below the zero line."""

    kind = 'column'

    def __init__(self, title, columns, durations=False, colour=PALETTE[0],
                 **kw):
        super().__init__(title, durations, **kw)
        self.columns = _pairs(columns, 'columns')
        self.colour = colour

    def values(self):
        return list(self.columns)

    def _frame(self):
        values = [v for _, v in self.columns]
        ticks = self.ticks(min(0, *values), max(0, *values))
        left, right = self._left(ticks), self.width - RIGHT
        top, bottom = TOP, self.height - BOTTOM
        scale = _linearScale(ticks[0], ticks[-1], top, bottom)
        band = (right - left) / len(self.columns)
        return ticks, scale, left, right, bottom, band

    def _body(self):
        ticks, scale, left, right, bottom, band = self._frame()
        gap = band * 0.2 if band >= 4 else 0
        zero = scale(0)
        parts = []
        for i, (label, value) in enumerate(self.columns):
            y = scale(value)
            parts.append(valueShape(
                'rect', {'x': left + i * band + gap / 2, 'y': min(y, zero),
                         'width': max(band - gap, 0.5),
                         'height': abs(zero - y)},
                label, value, f'{label}: {self.format(value)}'))
        return (self._valueAxis(ticks, scale, left, right)
                + element('g', ''.join(parts), class_='values',
                          fill=self.colour)
                + element('line', x1=float(left), x2=float(right), y1=zero,
                          y2=zero, stroke=INK)
                + self._categoryLabels(
                    [label for label, _ in self.columns],
                    lambda i: left + (i + 0.5) * band, bottom + 16,
                    right - left))


@implementer(IChart)
class LineChart(ColumnChart):
    """See IChart. Points joined by a line, for series too long for
    columns to be told apart (a year of days)."""

    kind = 'line'

    def _body(self):
        ticks, scale, left, right, bottom, band = self._frame()
        points = [(left + (i + 0.5) * band, scale(value))
                  for i, (_, value) in enumerate(self.columns)]
        path = 'M' + ' L'.join(f'{number(x)} {number(y)}'
                               for x, y in points)
        radius = 3 if len(points) <= 60 else 1.5
        marks = [valueShape('circle', {'cx': x, 'cy': y, 'r': radius},
                            label, value, f'{label}: {self.format(value)}')
                 for (x, y), (label, value) in zip(points, self.columns)]
        return (self._valueAxis(ticks, scale, left, right)
                + element('path', d=path, fill='none', stroke=self.colour,
                          stroke_width=1.5, class_='line')
                + element('g', ''.join(marks), class_='values',
                          fill=self.colour)
                + self._categoryLabels(
                    [label for label, _ in self.columns],
                    lambda i: left + (i + 0.5) * band, bottom + 16,
                    right - left))


ROW = 22                 # a bar's row in a BarChart
BAR_LABEL = 150          # the label column of a BarChart


@implementer(IChart)
class BarChart(_Chart):
    """See IChart. One horizontal bar per (label, value), top to bottom
    in the order given, the formatted value written after it: for
    categories with long names (states, users). The chart grows a row
    per bar."""

    kind = 'bar'

    def __init__(self, title, bars, durations=False, colour=PALETTE[0],
                 note='', **kw):
        super().__init__(title, durations, **kw)
        self.bars = _pairs(bars, 'bars')
        self.colour = colour
        self.note = str(note)

    def values(self):
        return list(self.bars)

    def _height(self):
        return TOP + 8 + ROW * max(len(self.bars), 1) + BOTTOM

    def _body(self):
        values = [v for _, v in self.bars]
        ticks = self.ticks(min(0, *values), max(0, *values))
        left, right = BAR_LABEL, self.width - RIGHT - 90
        top = TOP + 8
        bottom = top + ROW * len(self.bars)
        span = (ticks[-1] - ticks[0]) or 1

        def scale(value):
            return left + (value - ticks[0]) / span * (right - left)
        zero = scale(0)
        grid = []
        for tick in ticks:
            x = scale(tick)
            grid.append(element('line', x1=x, x2=x, y1=float(top),
                                y2=float(bottom), stroke=GRID))
            grid.append(text(x, bottom + 14, self.format(tick),
                             text_anchor='middle', fill=INK))
        parts = []
        for i, (label, value) in enumerate(self.bars):
            y = top + i * ROW
            x = scale(value)
            parts.append(text(left - 6, y + ROW / 2 + 4,
                              shorten(label, 22), text_anchor='end',
                              fill=INK, class_='label'))
            parts.append(valueShape(
                'rect', {'x': min(x, zero), 'y': y + 3,
                         'width': abs(x - zero), 'height': ROW - 6},
                label, value, f'{label}: {self.format(value)}'))
            parts.append(text(max(x, zero) + 4, y + ROW / 2 + 4,
                              self.format(value), fill=INK,
                              class_='figure'))
        note = text(self.width - RIGHT, 17, self.note, text_anchor='end',
                    fill='#777777', class_='note') if self.note else ''
        return (element('g', ''.join(grid), class_='axis axis-value')
                + element('g', ''.join(parts), class_='values',
                          fill=self.colour) + note)


LEGEND_ROW = 18


@implementer(IChart)
class StackedChart(_Chart):
    """See IChart. Columns of several series stacked, one column per
    category (a day, a session): series [(name, values)], each values a
    list as long as categories, none negative. Zero segments are not
    drawn (``values()`` still lists them). A legend names the series in
    their colours; give at most len(PALETTE) of them (``binning.
    foldSeries`` sums the rest), the last drawn grey when ``other``."""

    kind = 'stacked'

    def __init__(self, title, categories, series, durations=False,
                 other=False, **kw):
        super().__init__(title, durations, **kw)
        self.categories = [str(c) for c in categories]
        self.series = []
        for item in series:
            try:
                name, values = item
                values = list(values)
            except (TypeError, ValueError):
                raise ValueError(f'series must be (name, values) pairs, '
                                 f'not {item!r}') from None
            if len(values) != len(self.categories):
                raise ValueError(
                    f'series {name!r} has {len(values)} values for '
                    f'{len(self.categories)} categories; give one value '
                    f'per category')
            for value in values:
                _checkValue(value, f'a value of series {name!r}')
                if value < 0:
                    raise ValueError(f'series {name!r} has the negative '
                                     f'value {value!r}; stacked values '
                                     f'must be >= 0')
            self.series.append((str(name), values))
        if len(self.series) > len(PALETTE):
            raise ValueError(f'{len(self.series)} series; a stacked chart '
                             f'draws at most {len(PALETTE)} (fold the rest '
                             f'with binning.foldSeries)')
        self.other = other

    def values(self):
        return [(name, label, value) for name, values in self.series
                for label, value in zip(self.categories, values)]

    def _colour(self, index):
        if self.other and index == len(self.series) - 1:
            return OTHER_COLOUR
        return PALETTE[index]

    def _legendRows(self):
        rows, x = 1, 0
        for name, _ in self.series:
            width = 16 + len(shorten(name, 24)) * CHAR_WIDTH + 14
            if x and x + width > self.width - LEFT - RIGHT:
                rows, x = rows + 1, 0
            x += width
        return rows

    def _height(self):
        return self.height + LEGEND_ROW * self._legendRows()

    def _body(self):
        legendHeight = LEGEND_ROW * self._legendRows()
        totals = [sum(column) for column in
                  zip(*(values for _, values in self.series))]
        ticks = self.ticks(0, max(totals, default=0))
        left, right = self._left(ticks), self.width - RIGHT
        top = TOP + legendHeight
        bottom = self._height() - BOTTOM
        scale = _linearScale(ticks[0], ticks[-1], top, bottom)
        band = (right - left) / max(len(self.categories), 1)
        gap = band * 0.2 if band >= 4 else 0
        legend, x, y = [], 0, TOP - 4
        for index, (name, _) in enumerate(self.series):
            shown = shorten(name, 24)
            width = 16 + len(shown) * CHAR_WIDTH + 14
            if x and x + width > right - left:
                x, y = 0, y + LEGEND_ROW
            legend.append(element(
                'g', element('rect', x=float(left + x), y=float(y),
                             width=10, height=10,
                             fill=self._colour(index))
                + text(left + x + 14, y + 9, shown, fill=INK),
                class_='legend-item', data_series=name))
            x += width
        parts = []
        base = [0] * len(self.categories)
        for index, (name, values) in enumerate(self.series):
            shapes = []
            for i, (label, value) in enumerate(zip(self.categories,
                                                   values)):
                if not value:
                    continue
                y0, y1 = scale(base[i]), scale(base[i] + value)
                base[i] += value
                shapes.append(valueShape(
                    'rect', {'x': left + i * band + gap / 2, 'y': y1,
                             'width': max(band - gap, 0.5),
                             'height': y0 - y1},
                    label, value,
                    f'{label} \u00b7 {name}: {self.format(value)}',
                    series=name))
            parts.append(element('g', ''.join(shapes), class_='series',
                                 fill=self._colour(index)))
        return (self._valueAxis(ticks, scale, left, right)
                + element('g', ''.join(legend), class_='legend')
                + element('g', ''.join(parts), class_='values')
                + self._categoryLabels(
                    self.categories, lambda i: left + (i + 0.5) * band,
                    bottom + 16, right - left))
