"""What drawing the charts costs, for 10,000 users and a year of days,
side by side with shipping the same data as JSON (what a page handing
its data to a chart library in the browser would serialize instead).

    python benchmarks/charts.py [--users N] [--days N] [--repeat N]

Reports, in milliseconds (best of --repeat runs) and kilobytes:

* each chart a dashboard panel draws, from data already kept per day
  (the totals, the users per state) or per user (a value each): the
  binning (histogram, top 20) and the SVG;
* all panels of one application page together, against json.dumps of
  the data they draw from (per-user values, daily totals, daily states);
* one column per user instead of a histogram: why charts bin first;
* the local report (``cybertools-tracking report``) of a tracker's file
  of a year, against reading its rows alone (and the ``usage``
  command's summary, which counts rows from the indexes).

Not a test: numbers depend on the machine and its load.
"""

import argparse
import json
import os
import random
import tempfile
import time

from cybertools_tracking.charts import (
    BarChart, ColumnChart, LineChart, StackedChart, foldSeries, histogram,
    regroup, top)
from cybertools_tracking.charts.report import buildReport, rowsOf
from cybertools_tracking.db import Session
from cybertools_tracking.usage import registry, reports

STATES = ('light', 'dark', 'system', 'high contrast', 'sepia', 'solarized')


def best(repeat, work):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, result


def makeData(users, days):
    rng = random.Random(12)
    seconds = {f'user-{i:05d}': rng.lognormvariate(8, 1.5)
               for i in range(users)}
    labels = [f'2026-{1 + d // 31:02d}-{1 + d % 31:02d}' for d in range(days)]
    daily = [sum(rng.random() for _ in range(20)) * 3600 for _ in labels]
    states = {user: rng.choice(STATES) for user in seconds}
    perDay = [(s, [rng.randrange(users // 10) for _ in labels])
              for s in STATES]
    manyStates = [(f'state {i}', [rng.randrange(50) for _ in labels])
                  for i in range(30)]
    return seconds, labels, daily, states, perDay, manyStates


def panels(seconds, labels, daily, states, perDay, manyStates):
    """The charts of one application page: (name, work) pairs."""
    def spread():
        return ColumnChart('spread', histogram(
            seconds.values(), 12, durations=True), durations=True).render()

    def topUsers():
        best20, _ = top(seconds.items(), 20)
        return BarChart('top users', best20, durations=True).render()

    def perState():
        counts = {}
        for state in states.values():
            counts[state] = counts.get(state, 0) + 1
        return BarChart('users per state', sorted(counts.items())).render()

    return [
        ('daily total, line (365 points)',
         lambda: LineChart('daily', list(zip(labels, daily)),
                           durations=True).render()),
        ('daily total, columns (365)',
         lambda: ColumnChart('daily', list(zip(labels, daily)),
                             durations=True).render()),
        ('spread: histogram of 10,000 users', spread),
        ('spread: top 20 of 10,000 users', topUsers),
        ('users per state (10,000 users)', perState),
        ('states per day, stacked (365 x 6)',
         lambda: StackedChart('states', labels, perDay).render()),
        ('states per week, stacked (53 x 6)',
         lambda: StackedChart('states', *regroup(labels, perDay, 7))
         .render()),
        ('states per day, 30 folded to 9',
         lambda: StackedChart('states', labels,
                              foldSeries(manyStates, 9), other=True)
         .render()),
    ]


def fillTrackerFile(path, days, trackables=10):
    """A tracker's file of a year: trackables of each kind, a session a
    day, max_rows (1000) rows each."""
    rng = random.Random(3)
    start = time.time() - days * 86400
    kinds = ['Statistic', 'Timer', 'Sequence', 'State']

    def write(storage):
        runs = [storage.startRun(None) for _ in range(days)]
        for n in range(trackables):
            name, kind = f'trackable {n}', kinds[n % 4]
            registry.write(storage, name, registry.makeEntry(kind))
            count = 0
            for row in range(1000):
                dayNo = row * days // 1000
                count += rng.randrange(1, 5)
                data = {'Count': count}
                if kind == 'State':
                    data['State'] = rng.choice(STATES)
                storage.saveUserTrack(
                    name, runs[dayNo], 'me', data,
                    timeStamp=start + dayNo * 86400 + row)

    with Session(path, create=True) as session:
        session.run(write)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--users', type=int, default=10_000)
    parser.add_argument('--days', type=int, default=365)
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    data = makeData(args.users, args.days)
    seconds, labels, daily, states, perDay, manyStates = data
    print(f'{args.users:,} users, {args.days} days; best of {args.repeat} '
          f'runs\n')
    print(f'{"panel":38} {"ms":>8} {"KB":>8}')
    total = 0
    for name, work in panels(*data):
        ms, svg = best(args.repeat, work)
        total += ms
        print(f'{name:38} {ms:8.2f} {len(svg) / 1024:8.1f}')

    def page():
        return [work() for _, work in panels(*data)]

    pageMs, svgs = best(args.repeat, page)
    jsonMs, text = best(args.repeat, lambda: json.dumps(
        {'users': seconds, 'daily': daily, 'labels': labels,
         'states': states, 'perDay': perDay}))
    pageKB = sum(len(s) for s in svgs) / 1024
    print(f'\nwhole page, every panel     {pageMs:8.2f} ms '
          f'{pageKB:8.1f} KB')
    print(f'json.dumps of its data      {jsonMs:8.2f} ms '
          f'{len(text) / 1024:8.1f} KB')
    print(f'ratio page/json             {pageMs / jsonMs:8.2f} x (time) '
          f'{pageKB * 1024 / len(text):6.2f} x (bytes)')

    unbinnedMs, svg = best(args.repeat, lambda: ColumnChart(
        'every user', sorted(seconds.items()), durations=True).render())
    binnedMs, small = best(args.repeat, panels(*data)[2][1])
    print(f'\none column per user         {unbinnedMs:8.2f} ms '
          f'{len(svg) / 1024:8.1f} KB')
    print(f'histogram (binned first)    {binnedMs:8.2f} ms '
          f'{len(small) / 1024:8.1f} KB')
    print(f'ratio unbinned/binned       {unbinnedMs / binnedMs:8.2f} x '
          f'(time) {len(svg) / len(small):6.2f} x (bytes)')

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, 'usage.fs')
        fillTrackerFile(path, args.days)
        with Session(path, create=False, read_only=True) as session:
            storage = session.storage
            reportMs, html = best(args.repeat,
                                  lambda: buildReport(storage, path))
            summaryMs, _ = best(args.repeat, lambda: reports.summarize(
                storage, registry.read(storage)))
            rowsMs, _ = best(args.repeat, lambda: [
                rowsOf(storage, name) for name in registry.read(storage)])
    print('\nreport of a year\'s file (10 trackables x 1,000 rows)')
    print(f'report (HTML, 25 charts)    {reportMs:8.2f} ms '
          f'{len(html) / 1024:8.1f} KB')
    print(f'reading its rows alone      {rowsMs:8.2f} ms')
    print(f'usage summary, same file    {summaryMs:8.2f} ms')
    print(f'ratio report/rows           {reportMs / rowsMs:8.2f} x')


if __name__ == '__main__':
    main()
