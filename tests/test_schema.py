"""What ZODB saves is a file format: the saved class paths and stored
attribute names of every persistent object the project writes, the
schema generation a storage records, and the evolve steps that bring an
older file to the current generation."""

import io
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import transaction
import ZODB
import ZODB.FileStorage
from ZODB.utils import get_pickle_metadata

from cybertools_tracking import generations, records, trackkeys
from cybertools_tracking.btree import Track
from cybertools_tracking.db import Session
from cybertools_tracking.hq import accounts, groupdata, model

from hq_fixtures import HQApp, body
from commandline import cli as run

FIXTURES = Path(__file__).parent / 'fixtures'
T0 = 1_700_000_000
BTREE = 'a BTree state'         # no attribute names: buckets and keys


class AnswerTrack(Track):
    """A custom track indexing 'answer' from its data (a reverse map)."""

    index_attributes = Track.index_attributes + ('answer',)


# Every persistent class the project saves, with the attribute names its
# saved state holds. Changing any of it changes the file format: do it in
# a new schema generation with an evolve step (generations.py), then
# change this table.
LAYOUT = {
    'persistent.mapping.PersistentMapping': ['data'],
    'cybertools_tracking.btree.TrackingStorage': [
        '_count', '_generation', '_numbers', '_taskRuns', '_tracks',
        '_userTracks', 'currentRuns', 'indexes', 'runUsers', 'runs',
        'taskUsers', 'trackFactory'],
    'cybertools_tracking.btree.Run': [
        'end', 'finished', 'id', 'start', 'taskId'],
    'cybertools_tracking.btree.TrackTree': BTREE,
    'cybertools_tracking.btree.TrackBucket': BTREE,
    'cybertools_tracking.btree.UserNames': BTREE,
    'cybertools_tracking.btree.UserBucket': BTREE,
    'cybertools_tracking.index.FieldIndex': [
        '_fwd', '_num', '_rev', 'name', 'sparse'],
    'cybertools_tracking.index.ValueTree': BTREE,
    'cybertools_tracking.index.ValueBucket': BTREE,
    'cybertools_tracking.index.NumberSet': BTREE,
    'cybertools_tracking.index.NumberBucket': BTREE,
    'cybertools_tracking.index.ReverseMap': BTREE,
    'cybertools_tracking.trackkeys.KeyTable': BTREE,
    'cybertools_tracking.trackkeys.KeyBucket': BTREE,
    'cybertools_tracking.trackkeys.TaskRunTable': BTREE,
    'cybertools_tracking.tracknumbers.NumberAllocator': ['next'],
    'BTrees.Length.Length': BTREE,
    'BTrees.LOBTree.LOBTree': BTREE,
    'BTrees.OOBTree.OOBTree': BTREE,
    'BTrees.LOBTree.LOBucket': BTREE,
    'BTrees.OOBTree.OOBucket': BTREE,
    # The HQ's: versions seen, and the client track Numbers stored.
    'BTrees.OOBTree.OOTreeSet': BTREE,
    'BTrees.LLBTree.LLTreeSet': BTREE,
}
# Attributes only some objects of a class have: a storage's own
# trackFactory (when it was given one), an index's reverse map (over data).
OPTIONAL = {
    'cybertools_tracking.btree.TrackingStorage': ['trackFactory'],
    'cybertools_tracking.index.FieldIndex': ['_rev'],
}
PROJECT_CLASSES = {name for name in LAYOUT
                   if name.startswith('cybertools_tracking.')}
# A track is a record in its bucket of the track tree (generation 3 on):
# these values in this order; a Track subclass's record adds its class
# and the attributes it adds (None: none).
RECORD = ('taskId', 'runId', 'userName', 'timeStamp', 'data')
SUBCLASS_RECORD = RECORD + ('class', 'added attributes')
# Generation 2 and older saved each track as an object of its own.
TRACK_OBJECT = {'cybertools_tracking.btree.Track': [
    'taskId', 'runId', 'userName', 'timeStamp', 'data', '__name__',
    '__parent__']}


def savedLayout(path):
    """{class path: sorted attribute names (or BTREE)} of every object
    stored in the FileStorage at path, read from the file itself."""
    storage = ZODB.FileStorage.FileStorage(str(path), read_only=True)
    db = ZODB.DB(storage)
    layout = {}
    try:
        conn = db.open()
        oids = {record.oid for transaction_ in storage.iterator()
                for record in transaction_}
        for oid in sorted(oids):
            record, serial = storage.load(oid)
            module, name = get_pickle_metadata(record)
            obj = conn.get(oid)
            obj._p_activate()
            layout.setdefault(f'{module}.{name}', set()).add(
                _attributes(obj))
        conn.close()
    finally:
        db.close()
    for name, kinds in layout.items():
        if BTREE in kinds:
            assert kinds == {BTREE}, name
            layout[name] = BTREE
        elif any(isinstance(kind, list) for kind in kinds):
            # A tuple state: its order is its format.
            assert len(kinds) == 1, (name, kinds)
            layout[name] = list(kinds.pop())
        else:
            # Attributes some objects of the class have (a storage's own
            # trackFactory) are listed with the others.
            layout[name] = sorted(set().union(*kinds))
    return layout


class ListKey(list):
    """A list that can go into a set, for the ordered names of a tuple
    state."""

    def __hash__(self):
        return hash(tuple(self))


def _attributes(obj):
    """The attribute names of obj's saved state: in their order for a
    track (its state is a tuple of values), sorted for a dict state."""
    state = obj.__getstate__()
    if isinstance(obj, Track):
        values, *extra = state
        assert len(values) == len(Track._stateAttributes)
        return ListKey(Track._stateAttributes + tuple(
            sorted(extra[0]) if extra else ()))
    if isinstance(state, dict):
        return frozenset(state)
    return BTREE


def writeEveryClass(path):
    """Two storages with every kind of object: tracks, runs (finished,
    stopped, current), field indexes with and without a reverse map, a
    value held by one track and by many, trees grown past one bucket (so
    their buckets are records of their own); the second with a custom
    trackFactory."""
    for key, factory in (('tracking', None), ('answers', AnswerTrack)):
        with Session(str(path), key=key, trackFactory=factory) as session:
            session.run(fillEveryClass)


def fillEveryClass(storage):
    for i, user in enumerate(('alice', 'bob', 'alice')):
        storage.saveUserTrack('quiz', 0, user, {'answer': 'Lima'},
                              timeStamp=T0 + i)
    storage.stopRun('quiz')
    storage.saveUserTrack('quiz', 0, 'bob', {'answer': 'Nile'},
                          update=True, timeStamp=T0 + 9)
    runId = storage.startRun('editor')
    storage.stopRun(runId=runId, finish=False)
    # More tracks of one task and one run than a bucket of the track tree,
    # the user-track table, a number set or a value tree holds, by more
    # users than a task's user set holds in one bucket.
    for i in range(260):
        storage.saveUserTrack('drill', runId, f'user{i:03d}',
                              {'answer': 'x'}, timeStamp=T0 + 100 + i)


def test_the_saved_layout_is_exactly_the_expected_one(tmp_path):
    path = tmp_path / 'every.fs'
    writeEveryClass(path)
    saved = savedLayout(path)
    assert {name: saved.get(name) for name in PROJECT_CLASSES} == \
        {name: LAYOUT[name] for name in PROJECT_CLASSES}
    # Of other packages only what is listed.
    assert saved == {name: LAYOUT[name] for name in saved}


def savedRecords(path, key):
    """Every track record the track tree of the storage under key holds,
    read from the file's bucket records (not through the code's tree)."""
    storage = ZODB.FileStorage.FileStorage(str(path), read_only=True)
    found = []
    try:
        for oid in {r.oid for t in storage.iterator() for r in t}:
            record, serial = storage.load(oid)
            if get_pickle_metadata(record)[1] not in ('TrackBucket',
                                                      'TrackTree'):
                continue
            found.append(rawRecord(record))
    finally:
        storage.close()
    return found


def test_tracks_are_saved_as_records_in_the_track_tree(tmp_path):
    path = tmp_path / 'every.fs'
    writeEveryClass(path)
    assert records.FIELDS == RECORD
    byLength = {}
    for state in savedRecords(path, None):
        # A bucket's state is ((numbers, records),) or with its next
        # bucket after; an inner node's (child, key, child...), first).
        if len(state[0]) != 2:
            continue
        numbers, packed = state[0]
        assert isinstance(numbers, bytes) and isinstance(packed, bytes)
        for record in records.unpackRecords(packed):
            byLength.setdefault(len(record), []).append(record)
    # Two storages of 264 tracks each, one with a custom track class.
    assert sorted((n, len(r)) for n, r in byLength.items()) == [
        (len(RECORD), 264), (len(SUBCLASS_RECORD), 264)]
    plain = byLength[len(RECORD)]
    assert {type(r[0]) for r in plain} == {str} \
        and {type(r[4]) for r in plain} == {dict}
    assert ('drill', 3, 'user000', T0 + 100, {'answer': 'x'}) in plain
    assert {(r[5], r[6]) for r in byLength[len(SUBCLASS_RECORD)]} == \
        {(AnswerTrack, None)}


def rawRecord(record):
    unpickler = pickle.Unpickler(io.BytesIO(record))
    unpickler.persistent_load = lambda ref: ref
    unpickler.load()            # the class
    return unpickler.load()


# What the usage layer keeps in a storage, as tracks of its tasks: the data
# keys of each kind of track (the tracker registry, the uploader's place,
# the rows of a Statistic and of a State). Part of the format like LAYOUT.
TRACK_DATA = {
    '__registry__': ['checkpoints', 'description', 'max_rows', 'type'],
    '__upload__': ['After', 'Key', 'Through'],
    '__submissions__': ['Count', 'Key', 'Watermark'],
    'clicks': ['Count'],
    'mode': ['Count', 'State'],
}


def test_a_tracker_saves_only_classes_and_data_keys_of_the_layout(
        tmp_path, open_tracker, hq):
    tracker = open_tracker()
    tracker.track_statistic('clicks')
    tracker['clicks'] += 1
    tracker.track_state('mode', 'light')
    tracker['mode'] = 'dark'
    tracker.setup_hq(hq.url, 'KEY')
    assert tracker.submit_statistics() is True
    tracker.close()
    path = tmp_path / 'data' / 'usage.db'
    saved = savedLayout(path)
    # A tracker gives its storage no trackFactory and indexes no data.
    assert saved == withoutOptional(saved)
    with Session(str(path), read_only=True, create=False) as session:
        keys = {}
        for track in session.storage.values():
            keys.setdefault(track.taskId, set()).add(tuple(sorted(track.data)))
    assert keys == {task: {tuple(names)} for task, names in TRACK_DATA.items()}


def withoutOptional(saved):
    """LAYOUT of the classes in saved, without OPTIONAL attributes."""
    return {name: ([attr for attr in LAYOUT[name]
                    if attr not in OPTIONAL.get(name, ())]
                   if LAYOUT[name] != BTREE else BTREE)
            for name in saved}


# generations

def openCopy(tmp_path, name='generation0.fs'):
    path = tmp_path / name
    shutil.copyfile(FIXTURES / name, path)
    return path


def test_a_generation_0_file_is_read_as_the_current_generation(tmp_path):
    path = openCopy(tmp_path)
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert generations.storedGeneration(storage) == 0
        assert storage._generation == generations.GENERATION
        assert len(storage) == 7
        assert storage.getTaskIds() == ['editor', 'quiz']
        assert [t.data for t in storage.getUserTracks('quiz', 1, 'alice')] \
            == [{'answer': 'Paris'}, {'answer': 'Lima'}]
        assert storage.getLastUserTrack('editor', 2, 'bob').data == \
            {'words': 512}
        assert [t.__name__ for t in storage.query(userName='alice')] == \
            ['0000001', '0000003', '0000005', '0000007']
        assert [(r.id, r.taskId, r.finished) for r in storage.getRuns()] \
            == [(1, 'quiz', True), (2, 'editor', False), (3, 'quiz', False)]
        assert storage.getRun('quiz').id == 3
        assert storage.check() == []


def test_writing_tracks_into_a_generation_0_file_keeps_it_readable(
        tmp_path):
    path = openCopy(tmp_path)
    with Session(str(path), create=False) as session:
        assert session.run(lambda s: s.saveUserTrack(
            'quiz', 0, 'carol', {'answer': 'Oslo'}, timeStamp=T0)) \
            == '0000008'
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert storage.getLastUserTrack('quiz', 0, 'carol').data == \
            {'answer': 'Oslo'}
        assert storage.check() == []


def savedState(path):
    """The storage's state as the file holds it, not as code reads it."""
    return rawState(path, None)


def test_check_repair_stores_a_generation_0_file_as_the_current_one(
        tmp_path):
    path = openCopy(tmp_path)
    assert '_lastTracks' in savedState(path)
    result = run('check', '--db', path)
    assert (result.returncode, result.stderr) == (0, '')
    assert f'{path}: saved in schema generation 0, read as ' \
        f'{generations.GENERATION}; check --repair stores it so' \
        in result.stdout
    assert '_lastTracks' in savedState(path)        # a check only reads
    repairAndExpect(path, 0)
    state = savedState(path)
    assert '_lastTracks' not in state and '_userTracks' in state
    assert state['_generation'] == generations.GENERATION
    with Session(str(path), read_only=True, create=False) as session:
        assert generations.storedGeneration(session.storage) == \
            generations.GENERATION
        assert len(session.storage) == 7
        assert session.storage.check() == []
    result = run('check', '--db', path)
    assert result.stdout.splitlines() == [
        f'{path}: 7 tracks; indexes, task-user and user-track tables agree '
        f'with them']


def repairAndExpect(path, generation):
    """check --repair stores a file of generation as the current one and
    finds its 7 tracks agreeing with the tables."""
    result = run('check', '--repair', '--db', path)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout.splitlines() == [
        f'{path}: stored schema generation {generation} as generation '
        f'{generations.GENERATION}',
        f'{path}: 7 tracks; indexes, task-user and user-track tables agree '
        f'with them']


def test_each_evolve_step_turns_one_generation_into_the_next():
    assert sorted(generations.STEPS) == list(
        range(1, generations.GENERATION + 1))
    table = object()
    old = {'_lastTracks': table, 'runs': 1}
    assert generations.STEPS[1](old) == {'_userTracks': table, 'runs': 1}
    assert old == {'_lastTracks': table, 'runs': 1}     # not changed
    gen1 = {'_userTracks': table, 'runs': 1, '_generation': 1}
    assert generations.STEPS[2](gen1) == gen1
    gen2 = dict(gen1, _generation=2)
    assert generations.STEPS[3](gen2) == gen2
    assert generations.evolveState(old) == {
        '_userTracks': table, 'runs': 1,
        '_generation': generations.GENERATION}
    current = {'_userTracks': table, '_generation': generations.GENERATION}
    assert generations.evolveState(current) == current


def rawState(path, attribute):
    """The saved state of the object the storage holds under attribute
    (None: the storage itself), as the file has it (persistent references
    left as they are)."""
    storage = ZODB.FileStorage.FileStorage(str(path), read_only=True)
    try:
        db = ZODB.DB(storage)
        conn = db.open()
        obj = conn.root()['tracking']
        if attribute is not None:
            obj = getattr(obj, attribute)
        record, serial = storage.load(obj._p_oid)
        unpickler = pickle.Unpickler(io.BytesIO(record))
        unpickler.persistent_load = lambda ref: ref
        unpickler.load()            # the class
        state = unpickler.load()
        conn.close()
        db.close()
    finally:
        storage.close()
    return state


def test_a_generation_1_file_is_read_and_written_as_it_is(tmp_path):
    path = openCopy(tmp_path, 'generation1.fs')
    with Session(str(path), create=False) as session:
        storage = session.storage
        assert generations.storedGeneration(storage) == 1
        assert [t.data for t in storage.getUserTracks('quiz', 1, 'alice')] \
            == [{'answer': 'Paris'}, {'answer': 'Lima'}]
        # Runs are found through its runId index until it is evolved.
        assert storage.runUsers is None and 'runId' in storage.indexes
        assert [t.__name__ for t in storage.query(runId=1)] == \
            ['0000001', '0000002', '0000003']
        # Enough tracks for every table to split its plain buckets.
        session.run(lambda s: [
            s.saveUserTrack('quiz', 0, f'u{i:03d}', {'answer': 'Oslo'},
                            timeStamp=T0 + 1000 + i) for i in range(300)])
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert len(storage) == 307
        assert len(storage.getUserNames('quiz')) == 302
        assert len(storage.query(taskId='quiz', timeFrom=T0 + 1000)) == 300
        assert len(storage.query(runId=3)) == 303
        assert storage.check() == []


def test_check_repair_stores_a_generation_1_file_in_packed_buckets(
        tmp_path):
    path = openCopy(tmp_path, 'generation1.fs')
    # Generation 1 saved a table of one bucket inside the tree's record
    # as BTrees does: a tuple of keys.
    plain = rawState(path, '_userTracks')
    assert isinstance(plain[0][0][0], tuple)
    repairAndExpect(path, 1)
    assert savedState(path)['_generation'] == generations.GENERATION
    # Now packed: the keys (of a track tree: the numbers) are bytes.
    keys = rawState(path, '_userTracks')[0]
    assert isinstance(keys, bytes)
    numbers, tracks = rawState(path, '_tracks')[0]
    assert isinstance(numbers, bytes) and isinstance(tracks, bytes)
    assert len(records.unpackRecords(tracks)) == 7
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert generations.storedGeneration(storage) == \
            generations.GENERATION
        assert [t.__name__ for t in storage.query(userName='alice')] == \
            ['0000001', '0000003', '0000005', '0000007']
        assert storage.getLastUserTrack('editor', 2, 'bob').data == \
            {'words': 512}
        assert storage.getUserNames('quiz') == ['alice', 'bob']
        # The run-user table took the runId index's place; the task-run
        # table is new.
        assert 'runId' not in storage.indexes
        assert [trackkeys.splitTaskKey(key) for key in storage._taskRuns] \
            == [('quiz', 'alice', 1), ('quiz', 'alice', 3),
                ('editor', 'bob', 2), ('quiz', 'bob', 1), ('quiz', 'bob', 3)]
        assert storage.getTaskIds() == ['editor', 'quiz']
        assert {run: storage.getRunUserNames(run)
                for run in storage.runUsers.keys()} \
            == {1: ['alice', 'bob'], 2: ['bob'], 3: ['alice', 'bob']}
        assert storage.runUsers[2] == 'bob'     # a run's only user
        assert [t.__name__ for t in storage.query(runId=1)] == \
            ['0000001', '0000002', '0000003']
        assert storage.check() == []


def makeNewer(path, generation):
    with Session(str(path)) as session:
        session.run(lambda s: setattr(s, '_generation', generation))


def test_a_newer_generation_is_refused_and_never_half_read(tmp_path):
    path = tmp_path / 'newer.fs'
    makeNewer(path, generations.GENERATION + 1)
    message = (f'this tracking storage was saved in schema generation '
               f'{generations.GENERATION + 1}; this cybertools_tracking '
               f'reads generations 0 to {generations.GENERATION}: upgrade '
               f'cybertools_tracking to open it')
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path), read_only=True))
    try:
        conn = db.open()
        storage = conn.root()['tracking']
        with pytest.raises(generations.SchemaError) as raised:
            len(storage)
        assert str(raised.value) == message
        # Still a ghost: nothing of it was set.
        assert storage._p_changed is None
        with pytest.raises(generations.SchemaError):
            storage.query()
        conn.close()
    finally:
        db.close()
        transaction.abort()
    before = path.read_bytes()
    for command in (('tasks',), ('query',), ('check',),
                    ('check', '--repair'), ('pack',)):
        result = run(*command, '--db', path)
        assert (result.returncode, result.stdout) == (2, '')
        assert result.stderr == (f'cybertools-tracking {command[0]}: '
                                 f'{path}: {message}\n')
    assert path.read_bytes() == before


def test_the_fixture_script_writes_what_the_fixture_holds(tmp_path):
    # The script is how a fixture of a later generation is made; run with
    # today's code it writes today's generation, of the same content.
    path = tmp_path / 'today.fs'
    result = subprocess.run([sys.executable, str(FIXTURES / 'make_fixture.py'),
                             str(path)], capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stderr) == (0, '')
    assert savedState(path)['_generation'] == generations.GENERATION
    old = openCopy(tmp_path)
    with Session(str(path), read_only=True, create=False) as new, \
            Session(str(old), read_only=True, create=False) as gen0:
        assert [(t.__name__, t.taskId, t.runId, t.userName, t.timeStamp,
                 t.data) for t in new.storage.values()] == \
            [(t.__name__, t.taskId, t.runId, t.userName, t.timeStamp,
              t.data) for t in gen0.storage.values()]


def test_names_that_moved_out_of_btree_are_still_importable_there():
    from cybertools_tracking import btree, query, timestamps, trackkeys
    assert btree.timeStamp2ISO is timestamps.timeStamp2LocalMinute
    assert timestamps.timeStamp2ISO is timestamps.timeStamp2LocalMinute
    assert btree.TIME_CRITERIA is query.TIME_CRITERIA
    assert btree.TABLE_ATTRIBUTES is trackkeys.TABLE_ATTRIBUTES


# What the HQ keeps under its root key: plain BTrees keyed by these names
# (see hq/model.py), so the names are its part of the format.
HQ_KEYS = {
    'root': ['accounts', 'groups', 'hashes', 'keys', 'secret', 'used'],
    'group': ['aliases', 'apps', 'plots'],
    'application': ['days', 'done', 'holders', 'lastUpload', 'latest',
                    'numbers', 'states', 'trackables', 'userCount', 'users',
                    'versions'],
    'key': ['created', 'group', 'hash', 'kind'],
    'trackable': ['description', 'type'],
    'account': ['created', 'group', 'hash', 'n', 'p', 'r', 'salt'],
}


def test_the_hq_saves_only_classes_and_keys_of_the_layout(tmp_path):
    path = tmp_path / 'hq.fs'
    hq = HQApp(path)
    try:
        _, key = hq.addKey('acme')
        hq.addKey('acme', kind='read')
        hq.post(body(key, user='ann', data={
            'clicks': {'type': 'Statistic', 'description': '', 'data': 3},
            'mode': {'type': 'State', 'description': '', 'data': 'dark'}},
            tracks={'clicks': [{'Number': 1, 'Run': 1, 'Time': T0,
                                'Count': 3}]}),
            headers={'Idempotency-Key': 'batch-1'})

        def extras(root):
            accounts.addUser(root, 'acme', 'admin', 'a pass phrase')
            groupdata.setAlias(root, 'acme', 'ann', 'Ann')
            groupdata.savePlot(root, 'acme', 'MyApp', 'Usage', ['clicks'])

        tm = transaction.TransactionManager()
        conn = hq.db.open(transaction_manager=tm)
        with tm:
            extras(model.hqRoot(conn))
        with tm:
            root = model.hqRoot(conn)
            group = root['groups']['acme']
            application = group['apps']['MyApp']
            found = {
                'root': sorted(root),
                'group': sorted(group),
                'application': sorted(application),
                'key': sorted(next(iter(root['keys'].values()))),
                'trackable': sorted(application['trackables']['clicks']),
                'account': sorted(root['accounts']['admin']),
            }
        conn.close()
    finally:
        hq.close()
    assert found == HQ_KEYS
    # The HQ's storages, one a user, are the tracker's kind.
    saved = savedLayout(path)
    assert saved == withoutOptional(saved)


def test_a_generation_2_file_is_read_and_written_as_it_is(tmp_path):
    path = openCopy(tmp_path, 'generation2.fs')
    # Generation 2 saved each track as an object of its own.
    numbers, tracks = rawState(path, '_tracks')[0]
    assert isinstance(tracks, tuple) and len(tracks) == 7
    with Session(str(path), create=False) as session:
        storage = session.storage
        assert generations.storedGeneration(storage) == 2
        old = storage.getLastUserTrack('editor', 2, 'bob')
        assert old.data == {'words': 512} and old._p_oid is not None
        assert [t.data for t in storage.getUserTracks('quiz', 1, 'alice')] \
            == [{'answer': 'Paris'}, {'answer': 'Lima'}]

        def change(storage):
            storage.updateTrack(storage.getLastUserTrack('editor', 2, 'bob'),
                                {'words': 600}, timeStamp=T0 + 900)
            storage.removeTrack(storage['0000001'])
            return [storage.saveUserTrack('quiz', 0, f'u{i:03d}',
                                          {'answer': 'Oslo'},
                                          timeStamp=T0 + 1000 + i)
                    for i in range(200)]
        new = session.run(change)
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert len(storage) == 206
        assert storage.getLastUserTrack('editor', 2, 'bob').data == \
            {'words': 600}
        # Old tracks are the objects they were, new ones records.
        assert storage['0000004']._p_oid is not None
        assert storage[new[0]]._p_oid is None
        assert [t.__name__ for t in storage.query(userName='alice')] == \
            ['0000003', '0000005', '0000007']
        assert len(storage.query(taskId='quiz', timeFrom=T0 + 1000)) == 200
        assert storage.check() == []


def test_check_repair_stores_a_generation_2_file_as_records(tmp_path):
    path = openCopy(tmp_path, 'generation2.fs')
    assert any(trackkeys.oidOf(key) for key in
               trackkeys.KeyTable._bucket_type._decode(
                   rawState(path, '_userTracks')[0]))
    repairAndExpect(path, 2)
    numbers, tracks = rawState(path, '_tracks')[0]
    assert [record[:4] for record in records.unpackRecords(tracks)] == [
        ('quiz', 1, 'alice', T0), ('quiz', 1, 'bob', T0 + 60),
        ('quiz', 1, 'alice', T0 + 120), ('editor', 2, 'bob', T0 + 300),
        ('quiz', 3, 'alice', T0 + 360), ('quiz', 3, 'bob', T0 + 420),
        ('quiz', 3, 'alice', T0 + 480)]
    # The keys name no track objects any more.
    assert {trackkeys.oidOf(key) for key in
            trackkeys.KeyTable._bucket_type._decode(
                rawState(path, '_userTracks')[0])} == {0}
    with Session(str(path), read_only=True, create=False) as session:
        storage = session.storage
        assert generations.storedGeneration(storage) == \
            generations.GENERATION
        assert storage.getLastUserTrack('editor', 2, 'bob').data == \
            {'words': 512}
        assert [t.__name__ for t in storage.query(userName='alice')] == \
            ['0000001', '0000003', '0000005', '0000007']
        assert storage.check() == []


def test_a_track_object_of_generation_2_keeps_its_saved_layout(tmp_path):
    path = openCopy(tmp_path, 'generation2.fs')
    saved = savedLayout(path)
    assert {name: saved[name] for name in TRACK_OBJECT} == TRACK_OBJECT
