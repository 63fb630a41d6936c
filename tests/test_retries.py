"""db.retry / Session.run: transient errors are retried after a growing
random pause, anything else propagates at once; the transaction is
aborted either way."""

import pytest
import transaction
from relstorage.adapters import interfaces   # the test extra brings it
from ZODB.POSException import ConflictError, ReadConflictError

from cybertools_tracking import retries
from cybertools_tracking.db import Session, retry


@pytest.fixture
def pauses(monkeypatch):
    slept = []
    monkeypatch.setattr(retries.time, 'sleep', slept.append)
    return slept


@pytest.fixture
def session(tmp_path):
    with Session(str(tmp_path / 'tracking.fs')) as session:
        yield session


def failing(errors):
    """work that raises each of errors in turn, then saves a track."""
    calls = []

    def work(storage):
        calls.append(len(calls))
        if len(calls) <= len(errors):
            storage.saveUserTrack('lost', 0, 'u', {})   # must be aborted
            raise errors[len(calls) - 1]
        return storage.saveUserTrack('t', 0, 'u', {'try': len(calls)})
    return work, calls


def test_conflicts_are_retried_after_growing_pauses(session, pauses):
    work, calls = failing([ConflictError(), ReadConflictError(),
                           ConflictError()])
    trackId = session.run(work)
    assert len(calls) == 4
    assert session.storage[trackId].data == {'try': 4}
    assert session.storage.getTaskIds() == ['t']     # the failed tries left nothing
    assert len(pauses) == 3
    for number, seconds in enumerate(pauses, 1):
        limit = min(retries.FIRST_PAUSE * retries.GROWTH ** (number - 1),
                    retries.MAX_PAUSE)
        assert limit / 2 <= seconds <= limit
    assert pauses == sorted(pauses)


def test_the_last_attempt_raises(session, pauses):
    work, calls = failing([ConflictError()] * 3)
    with pytest.raises(ConflictError):
        session.run(work, attempts=3)
    assert len(calls) == 3 and len(pauses) == 2
    assert len(session.storage) == 0


def test_other_errors_propagate_at_once(session, pauses):
    work, calls = failing([KeyError('no such thing')])
    with pytest.raises(KeyError):
        session.run(work)
    assert len(calls) == 1 and pauses == []
    assert len(session.storage) == 0


def test_retry_needs_an_attempt():
    with pytest.raises(ValueError, match='attempts must be 1 or more'):
        retry(transaction.TransactionManager(), lambda: None, attempts=0)


def test_relstorage_lock_errors_count_as_transient():
    assert retries.isTransient(
        interfaces.UnableToLockRowsToReadCurrentError('readCurrent'))
    assert retries.isTransient(
        interfaces.UnableToAcquireCommitLockError('timed out'))
    assert not retries.isTransient(ValueError('x'))
