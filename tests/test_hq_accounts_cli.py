"""cybertools-tracking hq add-user, run as the user runs it: the password
from stdin, kept as a scrypt hash; bad input is one line, exit 2, and
nothing created."""

import subprocess
import sys

import transaction

from cybertools_tracking.db import openDB
from cybertools_tracking.hq import accounts, model


def addUser(db, *args, password='s3cret pass'):
    done = subprocess.run(
        [sys.executable, '-m', 'cybertools_tracking', 'hq', 'add-user',
         '--db', str(db), *args], input=password, capture_output=True,
        text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def authenticate(db, user, password):
    database = openDB(str(db), read_only=True)
    try:
        tm = transaction.TransactionManager()
        conn = database.open(transaction_manager=tm)
        with tm:
            return accounts.authenticate(model.hqRoot(conn), user, password)
    finally:
        conn.close()
        database.close()


def test_add_user_reads_the_password_from_stdin(tmp_path):
    db = tmp_path / 'hq.fs'
    code, out, err = addUser(db, '--group', 'acme', 'ann',
                             password='s3cret pass\n')
    assert (code, out.strip()) == (0, "added user 'ann' in group 'acme'"), \
        err
    assert authenticate(db, 'ann', 's3cret pass') == 'acme'
    assert authenticate(db, 'ann', 's3cret pas') is None
    assert authenticate(db, 'bob', 's3cret pass') is None
    assert b's3cret pass' not in db.read_bytes()
    # Again: a new password (and group) for the same account.
    code, out, err = addUser(db, '--group', 'other', 'ann',
                             password='n3w one')
    assert (code, out.strip()) == (0, "changed user 'ann' in group 'other'")
    assert authenticate(db, 'ann', 's3cret pass') is None
    assert authenticate(db, 'ann', 'n3w one') == 'other'


def test_bad_input_is_one_line_and_creates_nothing(tmp_path):
    db = tmp_path / 'hq.fs'
    for args, password, says in (
            (('--group', 'acme', 'ann'), '', 'must not be empty'),
            (('--group', 'acme', 'ann'), '\n', 'must not be empty'),
            (('--group', 'acme', ' ann'), 'pw', 'USER must be'),
            (('--group', '', 'ann'), 'pw', '--group must be'),
            (('--group', 'acme', 'ann'), 'x' * 2000, 'at most 1024')):
        code, out, err = addUser(db, *args, password=password)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert says in err and 'Traceback' not in err
        assert list(tmp_path.iterdir()) == []
