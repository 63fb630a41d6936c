"""``benchmarks/compare.py --db postgresql://...``'s contract, run for
real and tiny on the session's throw-away PostgreSQL: the project on
RelStorage beside the same table in PostgreSQL, then single-track commits
against INSERT + COMMIT, each with every figure it names (among them the
tables' growth once vacuumed). What the figures are is the benchmark's
to report, not this test's to assert."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / 'benchmarks' / 'compare.py'
COMMIT_ROW = re.compile(
    r'^  (?P<peer>RelStorage|INSERT)\s+(?P<ms>[\d.]+) ms/commit\s+'
    r'(?P<objects>[\d.]+) objects\s+(?P<wal>[\d.]+) KB WAL\s+'
    r'(?P<growth>-?[\d.]+) KB table growth,\s+(?P<vacuumed>-?[\d.]+) KB '
    r'once vacuumed$')


@pytest.mark.parametrize('keep_history', [False, True])
def test_compare_on_postgres_prints_each_figure(new_pg_database,
                                                keep_history):
    uri = new_pg_database(keep_history=keep_history)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), '--sizes', '500', '--queries', '5',
         '--db', uri, '--commits', '20'],
        capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr   # 1: a bar missed
    lines = result.stdout.splitlines()
    assert any(line.startswith('ingest, commit every 1,000')
               for line in lines), result.stdout
    rows = {m['peer']: m for m in map(COMMIT_ROW.match, lines) if m}
    assert set(rows) == {'RelStorage', 'INSERT'}, result.stdout
    for row in rows.values():
        assert float(row['ms']) > 0 and float(row['wal']) > 0
    assert float(rows['INSERT']['objects']) == 1.0
    # A single-track commit rewrites a few objects: more than one, and
    # never a record per track plus every bucket of a table.
    assert 1 < float(rows['RelStorage']['objects']) < 20
    assert re.search(r'RelStorage / INSERT: time x[\d.]+, WAL x[\d.]+',
                     result.stdout)
