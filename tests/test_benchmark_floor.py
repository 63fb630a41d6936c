"""``benchmarks/floor.py``'s contract, run for real, tiny, in a
subprocess: it exits 0, says what it ran on, and prints for every row it
names the figures its header names (times, ratios to SQLite, sizes, loads
per track), as numbers. What the figures are is the benchmark's to
report, not this test's to assert."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / 'benchmarks' / 'floor.py'

WRITES = ['sqlite, 5 indexes', 'sqlite, no index', 'zodb (a) Track per row',
          'zodb (b) Persistent(tuple)', 'zodb (c) tuples, no record']
READS = ['zodb (a) via LOBTree', 'zodb (a) by oid, conn.get',
         'zodb (a) by oid, raw load', 'zodb (b) via LOBTree',
         'zodb (b) by oid, conn.get', 'zodb (b) by oid, raw load',
         'zodb (c) via LOBTree']
ROW = re.compile(r'^(?P<label>\S.*?)\s{2,}(?P<figures>[\d.]+(?:\s+[\d.]+)*)$')


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def section(text, heading):
    """(the figure names of the heading line, {label: [numbers]}) of the
    table under the line starting with heading."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(heading))
    names = lines[start][len(heading):].split()
    rows = {}
    for line in lines[start + 1:]:
        match = ROW.match(line.rstrip())
        if match is None:
            break
        rows[match['label']] = [float(v) for v in match['figures'].split()]
    return names, rows


@pytest.fixture(scope='module')
def done(tmp_path_factory):
    directory = tmp_path_factory.mktemp('floor')
    result = run('--sizes', 2000, '--reads', 100, '--repeat', 1,
                 '--dir', directory)
    result.directory = directory
    return result


def test_exits_0_and_says_what_it_ran_on(done):
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith('python 3.')
    assert 'SQLite 3.' in first and 'ZODB' in first
    assert 'N = 2,000 tracks' in done.stdout


def test_each_write_row_has_every_figure_its_header_names(done):
    names, rows = section(done.stdout, 'write, commit every 1,000')
    assert names == ['us/track', '/sqlite5', '/sqlite0', 'file', 'MB']
    assert list(rows) == WRITES
    for label, figures in rows.items():
        # SQLite rows are the peers: no ratio to themselves.
        expected = 2 if label.startswith('sqlite') else 4
        assert len(figures) == expected, (label, figures)
        assert figures[0] > 0


@pytest.mark.parametrize('what, peer', [('random', 'sqlite, id = ?'),
                                        ('consecutive',
                                         'sqlite, id BETWEEN')])
def test_each_read_row_has_every_figure_its_header_names(done, what, peer):
    names, rows = section(done.stdout, f'cold read, 100 {what}')
    assert names == ['us/track', '/sqlite', 'loads/tr']
    assert list(rows) == [peer] + READS
    assert len(rows[peer]) == 1 and rows[peer][0] > 0
    for label in READS:
        seconds, ratio, loads = rows[label]
        assert seconds > 0 and ratio > 0 and loads > 0


def test_leaves_no_files_behind(done):
    assert os.listdir(done.directory) == []


def test_keep_keeps_the_files(tmp_path):
    result = run('--sizes', 300, '--reads', 20, '--repeat', 1,
                 '--dir', tmp_path, '--keep')
    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in tmp_path.rglob('*') if p.is_file())
    assert 'sqlite5.db' in kept and 'sqlite0.db' in kept
    assert kept.count('zodb.fs') == 3


def test_bad_sizes_are_a_usage_error():
    result = run('--sizes', 'many')
    assert result.returncode == 2
    assert '--sizes' in result.stderr
