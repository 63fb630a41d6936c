"""Making many values few before drawing: a chart of 10,000 users draws
a histogram of a dozen bins or the top 20, never 10,000 elements."""

import heapq

from cybertools_tracking.charts.units import (
    formatDuration, formatNumber, niceTicks)

DASH = '\u2013'


def histogram(values, bins=12, durations=False, format=None):
    """The spread of values as [(label, count)], one pair per bin of
    round edges (about ``bins`` of them); a bin holds the values v with
    low <= v < high (the last one includes its high edge). Labels read
    'low–high' in format (default: time units with durations, else
    plain numbers); with durations the edges are round times. An empty
    values gives []."""
    if format is None:
        format = formatDuration if durations else formatNumber
    values = list(values)
    if not values:
        return []
    low, high = min(values), max(values)
    edges = niceTicks(low, high, bins + 1, durations=durations,
                      integers=all(isinstance(v, int) for v in values))
    if len(edges) < 2:
        edges.append(edges[0] + 1)
    step = edges[1] - edges[0]
    first = edges[0]
    counts = [0] * (len(edges) - 1)
    last = len(counts) - 1
    for value in values:
        index = int((value - first) // step)
        counts[min(max(index, 0), last)] += 1
    return [(f'{format(edges[i])}{DASH}{format(edges[i + 1])}', counts[i])
            for i in range(len(counts))]


def top(pairs, n=20):
    """The n pairs (label, value) of the highest values, highest first
    (ties by label), and how many pairs were left out."""
    pairs = list(pairs)
    best = heapq.nsmallest(n, pairs, key=lambda p: (-p[1], str(p[0])))
    return best, len(pairs) - len(best)


def foldSeries(series, limit=8, other='{n} others'):
    """series [(name, values)] (all values lists of one length) with the
    ones of the smallest totals beyond the first limit - 1 summed into
    one series named other (a format with {n}, the number summed), in
    the order given; unchanged when there are at most limit."""
    series = list(series)
    if len(series) <= limit:
        return series
    ranked = sorted(series, key=lambda s: (-sum(s[1]), str(s[0])))
    kept, rest = ranked[:limit - 1], ranked[limit - 1:]
    summed = [sum(column) for column in zip(*(values for _, values in rest))]
    order = {name: i for i, (name, _) in enumerate(series)}
    kept.sort(key=lambda s: order[s[0]])
    return kept + [(other.format(n=len(rest)), summed)]


def regroup(labels, series, size, keep='last'):
    """Consecutive categories taken size at a time (days into weeks):
    (the first label of each group, series [(name, values)] with one
    value per group: the group's last with keep 'last', as for a state
    at the end of a day, or its sum with keep 'sum', as for counts per
    day). The last group may be shorter."""
    if keep not in ('last', 'sum'):
        raise ValueError(f"keep must be 'last' or 'sum', not {keep!r}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f'size must be an int >= 1, not {size!r}')
    starts = range(0, len(labels), size)
    pick = (lambda v: v[-1]) if keep == 'last' else sum
    return ([labels[i] for i in starts],
            [(name, [pick(values[i:i + size]) for i in starts])
             for name, values in series])
