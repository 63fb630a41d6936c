"""Charts drawn on the server as SVG, in pure Python.

``ColumnChart``, ``LineChart``, ``BarChart`` and ``StackedChart`` (see
``IChart``) take values already made few by ``binning`` (a histogram, the
top users, series folded into 'others'); ``page`` puts charts into one
self-contained HTML file. Nothing here fetches anything: a chart is an
<svg> element with its styles as attributes.
"""

from cybertools_tracking.charts.binning import (
    foldSeries, histogram, regroup, top)
from cybertools_tracking.charts.interfaces import IChart
from cybertools_tracking.charts.kinds import (
    BarChart, ColumnChart, LineChart, StackedChart)
from cybertools_tracking.charts.svg import escape
from cybertools_tracking.charts.units import (
    formatDuration, formatNumber, formatterFor, niceTicks)

__all__ = [
    'IChart', 'ColumnChart', 'LineChart', 'BarChart', 'StackedChart',
    'histogram', 'top', 'foldSeries', 'regroup', 'escape', 'formatDuration',
    'formatNumber', 'formatterFor', 'niceTicks',
]
