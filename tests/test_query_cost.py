"""Cost follows the request: ``query(..., limit=N, reverse=True)`` reads a
few objects however many tracks match, counted as objects loaded from a
FileStorage with an empty cache (a count, not a timing)."""

import pytest

from cybertools_tracking.db import Session

TRACKS = 12_000


@pytest.fixture(scope='module')
def session(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('cost') / 'tracking.fs')
    with Session(path) as session:
        def fill(storage):
            for i in range(TRACKS):
                storage.saveUserTrack('busy' if i % 4 else 'rare', 0,
                                      f'user{i % 7}', {'i': i},
                                      timeStamp=1_700_000_000 + i)
        session.run(fill)
    session = Session(path, create=False)
    yield session
    session.close()


def loadsFor(session, read):
    session.conn.cacheMinimize()
    before = session.conn.getTransferCounts()[0]
    result = read()
    return result, session.conn.getTransferCounts()[0] - before


@pytest.mark.parametrize('criteria', [
    {}, {'taskId': 'busy'}, {'userName': 'user3'},
    {'taskId': 'busy', 'userName': 'user3'},
    {'taskId': 'rare', 'timeFrom': 1_700_000_000 + 11_000}])
def test_newest_ten_cost_a_few_loads(session, criteria):
    storage = session.storage
    expected = [t for t in storage.values()
                if all(getattr(t, k) == v for k, v in criteria.items()
                       if k != 'timeFrom')
                and t.timeStamp >= criteria.get('timeFrom', 0)][-10:][::-1]
    expected = [t.data['i'] for t in expected]
    newest, loads = loadsFor(session, lambda: [
        t.data['i'] for t in storage.query(limit=10, reverse=True,
                                           **criteria)])
    assert newest == expected
    # Ten tracks, their buckets and the paths down to them; reading all
    # matches would load thousands.
    assert loads < 120, loads


def test_whole_results_stay_lazy_until_read(session):
    storage = session.storage
    result, loads = loadsFor(session, lambda: storage.query(taskId='busy'))
    assert loads < 20, loads
    assert bool(result)
    tracks, loads = loadsFor(session, lambda: result[:3])
    assert [t.data['i'] for t in tracks] == [1, 2, 3]
    assert loads < 20, loads
    track, loads = loadsFor(session, lambda: result[5])
    assert track.data['i'] == 7         # busy: i % 4 != 0
    assert loads < 20, loads
    assert len(result) == TRACKS * 3 // 4
    assert result[-1].data['i'] == TRACKS - 1
    assert not storage.query(taskId='nothing')
    assert not storage.query(taskId='busy', limit=0)


def test_a_time_range_loads_index_buckets_not_tracks(session):
    storage = session.storage
    newest, loads = loadsFor(session, lambda: [
        t.data['i'] for t in storage.query(
            timeFrom=1_700_000_000 + 2_000, limit=10, reverse=True)])
    assert newest == list(range(TRACKS - 1, TRACKS - 11, -1))
    # The range's index entries (60 to 120 to a bucket), ten tracks:
    # reading the 10,000 matching tracks would load 10,000 objects.
    assert loads < TRACKS // 20, loads


def test_last_user_track_reads_a_few_objects(session):
    storage = session.storage
    runId = storage.getRun(taskId='busy').id
    track, loads = loadsFor(
        session, lambda: storage.getLastUserTrack('busy', runId, 'user3'))
    assert track.data['i'] == max(i for i in range(TRACKS)
                                  if i % 4 and i % 7 == 3)
    assert loads < 20, loads
