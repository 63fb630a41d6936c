"""Crash safety: a process writing a stream of commits is killed with
SIGKILL; every track whose commit had returned is there when the file is
opened again, and the indexes agree with the tracks.

The child prints a track's id only after ``commit()`` returned, so a
printed id is a promise FileStorage must keep; the transaction the kill
interrupts may or may not be there, but never half.
"""

import signal
import subprocess
import sys

import pytest

from cybertools_tracking.db import Session

WRITER = """\
import sys
from cybertools_tracking.db import Session
session = Session(sys.argv[1])
storage, tm = session.storage, session.tm
i = 0
while True:
    trackId = storage.saveUserTrack('task%d' % (i % 3), 0, 'user%d' % (i % 5),
                                    {'i': i})
    if i % 4 == 0:      # sometimes several tracks in one commit
        storage.saveUserTrack('extra', 0, 'user', {'i': i})
    tm.commit()
    print(trackId, i, flush=True)
    i += 1
"""


def writeUntilKilled(path, script, commits):
    """Start a writer, read until it reported commits commits, SIGKILL it
    while it goes on; return {trackId: i} of what it reported."""
    child = subprocess.Popen([sys.executable, str(script), str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    reported = {}
    try:
        for line in child.stdout:
            trackId, i = line.split()
            reported[trackId] = int(i)
            if len(reported) >= commits:
                break
        else:
            pytest.fail(f'writer stopped: {child.stderr.read()}')
    finally:
        child.send_signal(signal.SIGKILL)
        # Whatever it printed before dying was committed too.
        rest, _ = child.communicate(timeout=30)
    for line in rest.splitlines():
        parts = line.split()
        if len(parts) == 2:         # a line cut by the kill is no promise
            reported[parts[0]] = int(parts[1])
    assert child.returncode == -signal.SIGKILL
    return reported


def test_killed_writer_loses_no_committed_track(tmp_path):
    path = tmp_path / 'tracking.fs'
    script = tmp_path / 'writer.py'
    script.write_text(WRITER)
    promised = {}
    for _ in range(2):          # kill, reopen and write on, kill again
        promised.update(writeUntilKilled(path, script, commits=60))
    with Session(str(path), create=False) as session:
        storage = session.storage
        for trackId, i in promised.items():
            assert trackId in storage, f'committed track {trackId} lost'
            assert storage[trackId].data == {'i': i}
        assert storage.check() == []
        # The storage still takes writes after the crashes.
        newId = session.run(lambda s: s.saveUserTrack('t', 0, 'u', {}))
        assert newId not in promised
        assert storage.check() == []
