"""``benchmarks/floor.py`` runs for real, tiny, in a subprocess: it exits 0
and prints every row with numbers and ratios. Timings are only checked to
be numbers; the storage loads per track are counts, so those are checked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / 'benchmarks' / 'floor.py'
LABEL = 32        # the width of the table's label column

WRITES = ['sqlite, 5 indexes', 'sqlite, no index', 'zodb (a) Track per row',
          'zodb (b) Persistent(tuple)', 'zodb (c) tuples, no record']
READS = ['zodb (a) via LOBTree', 'zodb (a) by oid, conn.get',
         'zodb (a) by oid, raw load', 'zodb (b) via LOBTree',
         'zodb (b) by oid, conn.get', 'zodb (b) by oid, raw load',
         'zodb (c) via LOBTree']


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def rows(text, heading):
    """{label: [numbers]} for the table section under heading."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = {}
    for line in lines[start + 1:]:
        if not line.startswith(('sqlite', 'zodb')):
            break
        out[line[:LABEL].strip()] = [float(v) for v in line[LABEL:].split()]
    return out


@pytest.fixture(scope='module')
def done(tmp_path_factory):
    directory = tmp_path_factory.mktemp('floor')
    result = run('--sizes', 2000, '--reads', 100, '--repeat', 1,
                 '--dir', directory)
    result.directory = directory
    return result


def test_exits_0_and_says_what_it_ran_on(done):
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('python 3.')
    assert 'SQLite 3.' in done.stdout and 'N = 2,000 tracks' in done.stdout


def test_writes_have_times_ratios_and_sizes(done):
    writes = rows(done.stdout, 'write, commit every 1,000')
    assert list(writes) == WRITES
    for label, numbers in writes.items():
        # us/track, file MB; ZODB also /sqlite5 and /sqlite0
        assert len(numbers) == (2 if label.startswith('sqlite') else 4)
        assert all(n > 0 for n in numbers)


@pytest.mark.parametrize('what, sqlite', [('random', 'sqlite, id = ?'),
                                          ('consecutive',
                                           'sqlite, id BETWEEN')])
def test_reads_have_times_ratios_and_load_counts(done, what, sqlite):
    reads = rows(done.stdout, f'cold read, 100 {what}')
    assert list(reads) == [sqlite] + READS
    assert len(reads[sqlite]) == 1
    for label in READS:
        seconds, ratio, loads = reads[label]
        assert seconds > 0 and ratio > 0
    # conn.get loads a record twice (its class, then its state); the raw
    # load once; tuples in the tree share their buckets' loads.
    for kind in 'ab':
        assert reads[f'zodb ({kind}) by oid, conn.get'][2] == 2.0
        assert reads[f'zodb ({kind}) by oid, raw load'][2] == 1.0
        assert reads[f'zodb ({kind}) via LOBTree'][2] > 1.0
    assert reads['zodb (c) via LOBTree'][2] < 1.0


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
