"""A usage tracker's database as one HTML page of charts.

For each trackable: how its value moved day by day and what each session
(a run of the tracker: one launch of the application) did to it. Read
with the storage's queries and the usage layer's registry and summary,
so it works on a file nobody has open, a copy of one, or a storage on a
ZEO server.

Days are local calendar days of the machine writing the report (the
tracker's own machine, for the person the data is about). With several
users in one database (a shared file, an import) values are summed over
users, each user counting with their latest value.
"""

import datetime
import os
from collections import Counter

from cybertools_tracking.charts.binning import foldSeries, regroup, top
from cybertools_tracking.charts.kinds import (
    PALETTE, BarChart, ColumnChart, LineChart, StackedChart)
from cybertools_tracking.charts.page import htmlPage, table
from cybertools_tracking.charts.svg import escape
from cybertools_tracking.charts.units import formatterFor
from cybertools_tracking.usage import registry, reports

# Beyond this many days columns get too thin to read: draw a line.
COLUMN_DAYS = 62
# The newest sessions drawn per trackable; older ones are counted only.
SESSIONS_SHOWN = 60
# States drawn as bars before the rest is counted in a note.
STATES_SHOWN = 20
# Users named in the heading (a tracker's file has one; a copy of an
# HQ's database may have thousands).
USERS_NAMED = 10


def day(timeStamp):
    """The local calendar day of epoch seconds, as 'YYYY-MM-DD'."""
    return datetime.date.fromtimestamp(timeStamp).isoformat()


def _days(first, last):
    start = datetime.date.fromisoformat(first)
    count = (datetime.date.fromisoformat(last) - start).days + 1
    return [(start + datetime.timedelta(days=i)).isoformat()
            for i in range(count)]


def rowsOf(storage, name):
    """A trackable's rows of every user, oldest first: dicts with
    timeStamp, user, run, count and state (None but for a State)."""
    rows = [{'timeStamp': t.timeStamp, 'user': t.userName,
             'run': t.runId, 'count': t.data.get('Count', 0),
             'state': t.data.get('State')}
            for t in storage.query(taskId=name)]
    rows.sort(key=lambda r: r['timeStamp'])     # stable: track order ties
    return rows


def dailyValues(rows):
    """[(day, value)] from the first row's day to the last's: the sum
    over users of each one's latest count at the end of the day."""
    if not rows:
        return []
    latest, total, byDay = {}, 0, {}
    for row in rows:
        total += row['count'] - latest.get(row['user'], 0)
        latest[row['user']] = row['count']
        byDay[day(row['timeStamp'])] = total
    result, value = [], 0
    for d in _days(day(rows[0]['timeStamp']), day(rows[-1]['timeStamp'])):
        value = byDay.get(d, value)
        result.append((d, value))
    return result


def dailyStates(rows):
    """(days, [(state, users per day)]): how many users were in each
    state at the end of each day, states in order of first appearance."""
    if not rows:
        return [], []
    current, byDay = {}, {}
    for row in rows:
        current[row['user']] = row['state']
        byDay[day(row['timeStamp'])] = Counter(current.values())
    days = _days(day(rows[0]['timeStamp']), day(rows[-1]['timeStamp']))
    states = list(dict.fromkeys(row['state'] for row in rows))
    columns, counts = [], Counter()
    for d in days:
        counts = byDay.get(d, counts)
        columns.append(counts)
    return days, [(s, [c[s] for c in columns]) for s in states]


def sessions(rows, runs):
    """[(label, run id, rows of the run)] in run order; label is
    '#id YYYY-MM-DD HH:MM' (the run's local start)."""
    byRun = {}
    for row in rows:
        byRun.setdefault(row['run'], []).append(row)
    result = []
    for runId in sorted(byRun):
        run = runs.get(runId)
        start = run.start if run is not None \
            else byRun[runId][0]['timeStamp']
        stamp = datetime.datetime.fromtimestamp(start)
        result.append((f'#{runId} {stamp:%Y-%m-%d %H:%M}', runId,
                       byRun[runId]))
    return result


def sessionChanges(rows, runs):
    """[(session label, change)]: what each session added to the value
    (each user's last count in the session minus their count before
    it), summed over users."""
    latest, start = {}, {}
    for row in rows:
        key = (row['user'], row['run'])
        if key not in start:
            start[key] = latest.get(row['user'], 0)
        latest[row['user']] = row['count']
    result = []
    for label, runId, runRows in sessions(rows, runs):
        ends = {}
        for row in runRows:
            ends[row['user']] = row['count']
        change = sum(end - start[(user, runId)]
                     for user, end in ends.items())
        result.append((label, change))
    return result


def sessionStates(rows, runs):
    """(session labels, [(state, users)]): the state each user of the
    session was in at its end."""
    labels, ends = [], []
    for label, _, runRows in sessions(rows, runs):
        last = {}
        for row in runRows:
            last[row['user']] = row['state']
        labels.append(label)
        ends.append(Counter(last.values()))
    states = list(dict.fromkeys(row['state'] for row in rows))
    return labels, [(s, [c[s] for c in ends]) for s in states]


def _lastSessions(labels, what):
    """The newest SESSIONS_SHOWN of labels, and a title suffix saying
    how many were left out."""
    if len(labels) <= SESSIONS_SHOWN:
        return slice(None), ''
    return (slice(-SESSIONS_SHOWN, None),
            f' (the last {SESSIONS_SHOWN} of {len(labels)} {what})')


def countCharts(name, kind, rows, runs):
    """The charts of a Statistic, Timer or Sequence."""
    durations = kind == 'Timer'
    what = {'Timer': 'time', 'Sequence': 'completions'}.get(kind, 'value')
    daily = dailyValues(rows)
    dayChart = LineChart if len(daily) > COLUMN_DAYS else ColumnChart
    changes = sessionChanges(rows, runs)
    shown, suffix = _lastSessions(changes, 'sessions')
    return [
        dayChart(f'{name}: {what} at the end of each day', daily,
                 durations=durations),
        ColumnChart(f'{name}: {what} added in each session{suffix}',
                    changes[shown], durations=durations,
                    colour=PALETTE[2]),
    ]


def _stacked(title, labels, series, shown=slice(None)):
    folded = foldSeries([(s, values[shown]) for s, values in series],
                        limit=len(PALETTE))
    return StackedChart(title, labels[shown], folded,
                        other=len(folded) < len(series))


def stateCharts(name, rows, runs):
    """The charts of a State."""
    chosen = Counter(row['state'] for row in rows)
    ranked, left = top(chosen.items(), STATES_SHOWN)
    charts = [BarChart(f'{name}: times each state was chosen', ranked,
                       note=f'{left} more states not shown' if left else '')]
    latest = {}
    for row in rows:
        latest[row['user']] = row['state']
    if len(latest) > 1:
        ranked, left = top(Counter(latest.values()).items(), STATES_SHOWN)
        charts.append(BarChart(
            f'{name}: users per state now', ranked,
            note=f'{left} more states not shown' if left else '',
            colour=PALETTE[1]))
    days, series = dailyStates(rows)
    if len(days) > COLUMN_DAYS:
        # A column a day would be a hairline; a week reads.
        weeks, series = regroup(days, series, 7, keep='last')
        charts.append(_stacked(f'{name}: state at the end of each week '
                               f'(starting on the day shown)', weeks,
                               series))
    else:
        charts.append(_stacked(f'{name}: state at the end of each day',
                               days, series))
    labels, series = sessionStates(rows, runs)
    shown, suffix = _lastSessions(labels, 'sessions')
    charts.append(_stacked(f'{name}: state at the end of each session'
                           f'{suffix}', labels, series, shown))
    return charts


def chartsFor(name, kind, rows, runs):
    """The charts of one trackable (name, registry type) from its rows
    (``rowsOf``) and the storage's runs ({run id: run})."""
    if kind == 'State':
        return stateCharts(name, rows, runs)
    return countCharts(name, kind, rows, runs)


def _valueText(entry):
    value = entry['value']
    if entry['type'] == 'Timer':
        return formatterFor('Timer')(value)
    return reports.valueText(value)


def buildReport(storage, source):
    """The report on storage (a TrackingStorage a usage tracker wrote)
    as an HTML document (a str); source names it in the heading (the
    database's path or URI)."""
    entries = registry.read(storage)
    summary = reports.summarize(storage, entries)
    runs = {run.id: run for run in storage.getRuns()}
    users, runIds, sections, first, last = set(), set(), [], None, None
    for index, entry in enumerate(summary):
        name, kind = entry['name'], entry['type']
        rows = rowsOf(storage, name)
        users.update(row['user'] for row in rows)
        runIds.update(row['run'] for row in rows)
        if rows:
            first = min(first or rows[0]['timeStamp'], rows[0]['timeStamp'])
            last = max(last or 0, rows[-1]['timeStamp'])
        charts = ''.join(c.render() for c in chartsFor(name, kind, rows,
                                                       runs))
        what = kind
        if entry['description']:
            what += f' \u00b7 {entry["description"]}'
        if kind == 'Sequence' and entry['checkpoints']:
            what += ' \u00b7 ' + ' \u2192 '.join(
                str(c) for c in entry['checkpoints'])
        sections.append(
            f'<section class="trackable" id="t{index}" '
            f'data-name="{escape(name)}" data-type="{escape(kind)}">'
            f'<h2>{escape(name)}</h2><p class="what">{escape(what)} '
            f'\u00b7 now: {escape(_valueText(entry))} \u00b7 '
            f'{entry["rows"]} rows</p>'
            f'<div class="charts">{charts}</div></section>')
    title = f'Usage report: {os.path.basename(str(source)) or source}'
    span = (f'from {day(first)} to {day(last)}' if first is not None
            else 'no records yet')
    named = sorted(users)[:USERS_NAMED]
    more = len(users) - len(named)
    meta = (f'{source} \u00b7 {len(summary)} trackables \u00b7 '
            f'{len(runIds)} sessions \u00b7 {span} \u00b7 users: '
            + (', '.join(named) or 'none')
            + (f' and {more} more' if more else ''))
    nav = ''.join(f'<a href="#t{i}">{escape(e["name"])}</a>'
                  for i, e in enumerate(summary))
    overview = table(
        ('Name', 'Type', 'Value', 'Rows', 'Description'),
        [(e['name'], e['type'], _valueText(e), e['rows'], e['description'])
         for e in summary], numeric=(3,))
    body = (f'<header><h1>{escape(title)}</h1>'
            f'<p class="meta">{escape(meta)}</p>'
            f'<p class="meta">Written {escape(_now())}; this file fetches '
            f'nothing and runs no script.</p></header>'
            f'<nav>{nav}</nav>{overview}{"".join(sections)}')
    return htmlPage(title, body)


def _now():
    return datetime.datetime.now().astimezone().strftime(
        '%Y-%m-%d %H:%M %Z')
