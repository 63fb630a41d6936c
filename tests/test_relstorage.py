"""RelStorage on PostgreSQL (a throw-away server, see pg_fixtures.py),
history-free and history-preserving: ``postgresql://`` URIs wherever a
database is named, three writer processes, the tracker, the command line,
packing. The storage's own tests run on it through ``dbspec``.
"""

import json
import subprocess
import sys

import psycopg2
import pytest
import transaction
from ZODB.POSException import ReadOnlyError

from cybertools_tracking import postgres
from cybertools_tracking.db import DatabaseError, Session, openDB, pack

from commandline import cli

WRITERS = 3
TRACKS = 40       # per writer, a commit each

# A writer process: saves tracks through Session.run (its default
# attempts), a commit each, and prints what it saved as one JSON line.
WRITER = """\
import json, sys
from cybertools_tracking.db import Session
uri, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
saved, calls = [], []

def save(storage, i):
    calls.append(i)
    # Shared tasks, a user per writer and some shared users.
    return storage.saveUserTrack('task%d' % (i % 4), 0,
                                 'user%d' % ((writer + i) % 5),
                                 {'writer': writer, 'i': i})

with Session(uri) as session:
    for i in range(count):
        saved.append(session.run(save, i))
print(json.dumps({'saved': saved, 'retries': len(calls) - count}))
"""


# Opening by URI


def test_uri_parameters_become_relstorage_options():
    connection, options, dbOptions = postgres.parseURI(
        'postgresql://me:s%40cret@db.example:6543/tracking'
        '?keep_history=false&commit_lock_timeout=5&cache_size=1000'
        '&connect_timeout=3')
    assert connection == {'dbname': 'tracking', 'host': 'db.example',
                          'port': 6543, 'user': 'me', 'password': 's@cret',
                          'connect_timeout': 3}
    assert options == {'keep_history': False, 'commit_lock_timeout': 5}
    assert dbOptions == {'cache_size': 1000}


def test_a_unix_socket_uri_names_no_host_port_or_user():
    connection, options, dbOptions = postgres.parseURI(
        'postgres:///tracking?host=/run/postgresql')
    assert connection == {'dbname': 'tracking', 'host': '/run/postgresql'}
    assert postgres.makeDSN(connection) == \
        "dbname='tracking' host='/run/postgresql'"


def test_dsn_values_are_quoted():
    assert postgres.makeDSN({'password': "it's\\x"}) == \
        "password='it\\'s\\\\x'"


@pytest.mark.parametrize('uri, message', [
    ('postgresql://127.0.0.1:5432/t?keep_histroy=0',
     "unknown parameter 'keep_histroy'; allowed are: "),
    ('postgresql://127.0.0.1/t?keep_history=maybe',
     "bad value for keep_history: 'maybe' is not a boolean"),
    ('postgresql://127.0.0.1/t?commit_lock_timeout=-1',
     'bad value for commit_lock_timeout'),
    ('postgresql://127.0.0.1:5432', 'name one database after the host'),
    ('postgresql://127.0.0.1:port/t', 'the port must be a number'),
])
def test_bad_uris_say_what_is_wrong(uri, message):
    with pytest.raises(DatabaseError, match='^postgresql://.*'
                       + message.replace('?', r'\?')):
        openDB(uri)


def test_messages_hide_the_password():
    with pytest.raises(DatabaseError) as info:
        openDB('postgresql://me:secret@127.0.0.1/t?bogus=1')
    assert 'secret' not in str(info.value)
    assert 'me:***@' in str(info.value)


def test_an_unreachable_server_is_a_database_error(pg_cluster):
    uri = f'postgresql://postgres@127.0.0.1:{pg_cluster.port}/nosuchdb'
    with pytest.raises(DatabaseError, match='nosuchdb.*cannot open'):
        openDB(uri)


def test_history_mode_follows_the_uri(pgspec):
    db = openDB(pgspec)
    try:
        assert db.supportsUndo() == ('keep_history=true' in pgspec)
    finally:
        db.close()


def test_read_only_opening_refuses_writes(pgspec):
    with Session(pgspec) as session:
        session.run(lambda s: s.saveUserTrack('t', 0, 'u', {}))
    db = openDB(pgspec, read_only=True)
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = conn.root()['tracking']
        assert len(storage) == 1
        with pytest.raises(ReadOnlyError):
            storage.saveUserTrack('t', 0, 'u', {'n': 2})
            tm.commit()
        tm.abort()
        conn.close()
    finally:
        db.close()


# Many writers


def test_three_writer_processes_lose_nothing(pgspec, tmp_path):
    with Session(pgspec) as session:
        session.run(lambda storage: storage.startRun('task0'))
    script = tmp_path / 'writer.py'
    script.write_text(WRITER)
    writers = [subprocess.Popen(
        [sys.executable, str(script), pgspec, str(n), str(TRACKS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(WRITERS)]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    ids = [trackId for result in results for trackId in result['saved']]
    assert len(ids) == WRITERS * TRACKS
    assert len(set(ids)) == len(ids), 'track ids must be unique'
    with Session(pgspec) as session:
        storage = session.storage
        assert len(storage) == len(ids)
        for n, result in enumerate(results):
            for i, trackId in enumerate(result['saved']):
                assert storage[trackId].data == {'writer': n, 'i': i}
        assert storage.check() == []
        assert sorted(storage.getUserNames('task1')) == [
            f'user{n}' for n in range(5)]


# The tracker, the command line, packing


def test_tracker_counts_across_a_reopen(pgspec):
    from cybertools_tracking.usage import AnonymousUsageTracker
    for _ in range(2):
        tracker = AnonymousUsageTracker(uuid='pg-user', filepath=pgspec)
        try:
            tracker.track_statistic('clicks')
            for _ in range(3):
                tracker['clicks'] += 1
            tracker.flush()
        finally:
            tracker.close()
    with Session(pgspec) as session:
        tracks = session.storage.query(taskId='clicks', userName='pg-user')
        assert [t.data['Count'] for t in tracks] == [1, 2, 3, 4, 5, 6]
        assert session.storage.check() == []


def test_command_line_reads_checks_and_packs(pgspec):
    with Session(pgspec) as session:
        for n in range(3):
            session.run(lambda s: s.saveUserTrack('t', 0, 'u', {'n': n},
                                                  update=True))
    result = cli('tasks', '--db', pgspec)
    assert result.returncode == 0, result.stderr
    assert 't ' in result.stdout
    result = cli('check', '--db', pgspec)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'agree' in result.stdout
    result = cli('pack', '--db', pgspec)
    assert result.returncode == 0, result.stderr
    assert 'packed' in result.stdout
    result = cli('tasks', '--db', pgspec + '&bogus=1')
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert "unknown parameter 'bogus'" in result.stderr


def test_pack_drops_the_history_a_history_preserving_database_keeps(
        new_pg_database):
    uri = new_pg_database(keep_history=True)
    with Session(uri) as session:
        for n in range(5):
            session.run(lambda s: s.saveUserTrack('t', 0, 'u', {'n': n},
                                                  update=True))
        before = len(session.db.undoLog(0, 100))
        pack(session.db)
        after = len(session.db.undoLog(0, 100))
        assert session.storage.getLastUserTrack('t', 0, 'u').data == {
            'n': 4}
        assert session.storage.check() == []
    assert before >= 6
    assert after < before


def test_reading_a_blank_database_says_so_and_creates_nothing(pg_cluster):
    uri = pg_cluster.createDatabase('blank', keep_history='false')
    result = cli('tasks', '--db', uri)
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'holds no RelStorage tables' in result.stderr
    with pytest.raises(DatabaseError, match='holds no RelStorage tables'):
        openDB(uri, read_only=True)
    conn = psycopg2.connect(**pg_cluster.dsn('blank'))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables "
                           "WHERE schemaname = 'public'")
            assert cursor.fetchone()[0] == 0
    finally:
        conn.close()
