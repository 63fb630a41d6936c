"""Reports on a tracker's trackables: a summary, the CSV table of
``database_to_csv`` and the sectioned CSV report of ``to_file``.

``summarize`` works on a TrackingStorage alone (the command line uses it
on a database nobody has open) or with a tracker's pending changes.
"""

import csv
import numbers

from cybertools_tracking.usage.rows import view
from cybertools_tracking.usage.state import NO_STATE

CSV_COLUMNS = ('Name', 'Type', 'Value', 'Description')
_TYPE_ORDER = {'State': 0, 'Statistic': 1, 'Timer': 2, 'Sequence': 3}
NO_STATE_TEXT = 'No State'


def summarize(storage, entries, uuid=None, pendingFor=None):
    """One dict per trackable in entries ({name: registry entry}), by name:
    name, type, value (the state of a State, else the count), count (the
    newest row's Count: a State's number of changes), rows, average
    (value / rows for numbers, else None), description, checkpoints.

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
        changes = last.get('Count', 0) if last else 0
        if entry['type'] == 'State':
            value = last.get('State', NO_STATE) if last else NO_STATE
        else:
            value = changes
        average = None
        if isinstance(value, numbers.Real) and count:
            average = value / count
        result.append({'name': name, 'type': entry['type'], 'value': value,
                       'count': changes, 'rows': count, 'average': average,
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


# The original's to_file: a CSV file in four sections, each a title row,
# a header row, one row per trackable and an empty row.
SECTIONS = (
    ('States', 'State',
     ('Name', 'Description', 'State', 'Number of Changes')),
    ('Statistics', 'Statistic', ('Name', 'Description', 'Total', 'Average')),
    ('Timers', 'Timer',
     ('Name', 'Description', 'Average Seconds', 'Total Seconds',
      'Total Minutes', 'Total Hours', 'Total Days')),
    ('Sequences', 'Sequence',
     ('Name', 'Description', 'Sequence', 'Number of Completions')),
)


def _sectionRow(s, precision):
    kind = s['type']
    if kind == 'State':
        return (s['name'], s['description'], valueText(s['value']),
                valueText(s['count']))
    average = s['average'] or 0
    if kind == 'Statistic':
        return (s['name'], s['description'], valueText(s['value']),
                precision % average)
    if kind == 'Timer':
        total = s['value']
        return (s['name'], s['description'], precision % average,
                precision % total, precision % (total / 60),
                precision % (total / 3600), precision % (total / 86400))
    return (s['name'], s['description'],
            '-->'.join(str(c) for c in s['checkpoints'] or ()),
            valueText(s['value']))


def writeReport(summary, path, precision='%.2g'):
    """Write the summary as the original's to_file did: CSV sections
    States (Name, Description, State, Number of Changes), Statistics
    (Name, Description, Total, Average), Timers (Name, Description,
    Average Seconds, Total Seconds, Total Minutes, Total Hours, Total
    Days) and Sequences (Name, Description, Sequence, Number of
    Completions), trackables by name. precision formats averages and
    the timers' figures."""
    _checkPrecision(precision)
    byType = {}
    for s in sortSummary(summary, 'name'):
        byType.setdefault(s['type'], []).append(s)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        for title, kind, headers in SECTIONS:
            writer.writerow((title,))
            writer.writerow(headers)
            for s in byType.get(kind, ()):
                writer.writerow(_sectionRow(s, precision))
            writer.writerow(())
