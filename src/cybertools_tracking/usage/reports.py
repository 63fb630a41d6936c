"""Reports on a tracker's trackables: a summary, a CSV file, a text file.

``summarize`` works on a TrackingStorage alone (the command line uses it
on a database nobody has open) or with a tracker's pending changes.
"""

import csv
import numbers

from cybertools_tracking.usage.rows import view
from cybertools_tracking.usage.state import NO_STATE
from cybertools_tracking.usage.timer import Timer

CSV_COLUMNS = ('Name', 'Type', 'Value', 'Description')
_TYPE_ORDER = {'State': 0, 'Statistic': 1, 'Timer': 2, 'Sequence': 3}
NO_STATE_TEXT = 'No State'


def summarize(storage, entries, uuid=None, pendingFor=None):
    """One dict per trackable in entries ({name: registry entry}), by name:
    name, type, value, rows, average (value / rows for numbers, else None),
    description, checkpoints.

    uuid: only that user's tracks; None: every user's (the value is then
    the newest track's). pendingFor(name): ops not yet committed.
    """
    result = []
    for name, entry in sorted(entries.items()):
        criteria = {'taskId': name}
        if uuid is not None:
            criteria['userName'] = uuid
        ops = pendingFor(name) if pendingFor is not None else ()
        if ops:
            stored = [(t.data, t.timeStamp) for t in storage.query(**criteria)]
            rows = view(stored, ops, entry.get('max_rows') or len(stored) + 1)
            count = len(rows)
            last = rows[-1][0] if rows else None
        else:
            count = len(storage.query(**criteria))
            newest = storage.query(limit=1, reverse=True, **criteria)
            last = newest[0].data if newest else None
        if entry['type'] == 'State':
            value = last.get('State', NO_STATE) if last else NO_STATE
        else:
            value = last.get('Count', 0) if last else 0
        average = None
        if isinstance(value, numbers.Real) and count:
            average = value / count
        result.append({'name': name, 'type': entry['type'], 'value': value,
                       'rows': count, 'average': average,
                       'description': entry.get('description', ''),
                       'checkpoints': entry.get('checkpoints')})
    return result


def valueText(value):
    """A value as reports show it."""
    if value is NO_STATE:
        return NO_STATE_TEXT
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sortSummary(summary, orderby='type'):
    """The summary ordered by a CSV column (name, type, value or
    description, any case), then by name."""
    key = orderby.lower() if isinstance(orderby, str) else orderby
    if key == 'name':
        return sorted(summary, key=lambda s: s['name'])
    if key == 'type':
        return sorted(summary, key=lambda s: (_TYPE_ORDER.get(s['type'], 9),
                                              s['name']))
    if key == 'value':
        def byValue(s):
            v = s['value']
            number = isinstance(v, numbers.Real)
            return (not number, v if number else valueText(v), s['name'])
        return sorted(summary, key=byValue)
    if key == 'description':
        return sorted(summary, key=lambda s: (s['description'], s['name']))
    raise ValueError(f"orderby must be one of 'name', 'type', 'value', "
                     f"'description', not {orderby!r}")


def writeCSV(summary, path, orderby='type'):
    """Write the summary as CSV: Name,Type,Value,Description."""
    rows = sortSummary(summary, orderby)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for s in rows:
            writer.writerow((s['name'], s['type'], valueText(s['value']),
                             s['description']))


def _checkPrecision(precision):
    try:
        text = precision % 1.5
    except (TypeError, ValueError):
        text = None
    if not isinstance(text, str):
        raise ValueError(f"precision must be a %-format for one number, "
                         f"such as '%.2g' or '%.3f', not {precision!r}")


def _table(headers, rows):
    cells = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
             for row in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return lines


def writeText(summary, path, precision='%.2g'):
    """Write the summary as text, in sections: States (Name, State,
    Description), Statistics (Name, Count, Average, Description), Timers
    (Name, Total Time, Average Time, Description) and Sequences (Name,
    Count, Checkpoints, Description). precision formats averages."""
    _checkPrecision(precision)

    def average(s):
        return '' if s['average'] is None else precision % s['average']

    byType = {}
    for s in sortSummary(summary, 'name'):
        byType.setdefault(s['type'], []).append(s)
    sections = [
        ('States', ('Name', 'State', 'Description'),
         [(s['name'], valueText(s['value']), s['description'])
          for s in byType.get('State', ())]),
        ('Statistics', ('Name', 'Count', 'Average', 'Description'),
         [(s['name'], valueText(s['value']), average(s), s['description'])
          for s in byType.get('Statistic', ())]),
        ('Timers', ('Name', 'Total Time', 'Average Time', 'Description'),
         [(s['name'], Timer.format_time(s['value']) or '0 seconds',
           Timer.format_time(s['average'] or 0) or '0 seconds',
           s['description'])
          for s in byType.get('Timer', ())]),
        ('Sequences', ('Name', 'Count', 'Checkpoints', 'Description'),
         [(s['name'], valueText(s['value']),
           ', '.join(str(c) for c in s['checkpoints'] or ()),
           s['description'])
          for s in byType.get('Sequence', ())]),
    ]
    lines = []
    for title, headers, rows in sections:
        lines.append(title)
        lines.append('=' * len(title))
        lines.extend(_table(headers, rows) if rows else ['(none)'])
        lines.append('')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))
