"""Packed buckets: what the tables save comes back the same, in a
FileStorage on disk, whether saved packed or plain, and concurrent
inserts into one packed bucket still merge."""

import os
import sys
import zlib
from array import array

import pytest
import transaction
import ZODB
import ZODB.FileStorage
from BTrees.LLBTree import LLSet
from BTrees.LOBTree import LOBucket
from BTrees.OOBTree import OOBucket, OOSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cybertools_tracking import buckets
from cybertools_tracking.btree import TrackTree, UserNames
from cybertools_tracking.buckets import STR_SEPARATOR
from cybertools_tracking.index import NumberBucket, NumberSet, ValueTree
from cybertools_tracking.trackkeys import KeyBucket, KeyTable
from cybertools_tracking.tracknumbers import NumberAllocator


@pytest.fixture
def db(tmp_path):
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(tmp_path / 'b.fs')))
    yield db
    db.close()


def reopened(db, name, value):
    """value stored under name, as a fresh connection loads it."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    conn.root()[name] = value
    tm.commit()
    conn.close()
    other = db.open(transaction_manager=transaction.TransactionManager())
    other.cacheMinimize()
    return other.root()[name], other


def savedBuckets(tree):
    """The buckets of tree that are records of their own."""
    buckets, bucket = [], tree._firstbucket
    while bucket is not None:
        buckets.append(bucket)
        bucket = bucket._next
    return buckets


@pytest.mark.parametrize('size', [1, 5, 1000])
def test_sets_of_str_and_int_come_back_the_same(db, size):
    keys = [f'user{i:04d}\x00\x01k\u00e9y{i}' for i in range(size)]
    users = [f'name \U0001f600 {i}' for i in range(size)]
    numbers = [i * 7 - 2 ** 62 for i in range(size)] + [2 ** 63 - 1]
    for name, tree, items in (('keys', KeyTable(keys), keys),
                              ('users', UserNames(users), users),
                              ('nums', NumberSet(numbers), numbers)):
        loaded, conn = reopened(db, name, tree)
        assert list(loaded) == sorted(items)
        if size == 1000:
            assert len(savedBuckets(loaded)) > 1
        conn.close()


def test_maps_keep_their_value_types(db):
    stamps = {1_700_000_000 + i: i for i in range(300)}
    loaded, conn = reopened(db, 'stamps', ValueTree(stamps))
    assert dict(loaded.items()) == stamps
    conn.close()
    # Not all ints: saved plain, so a bool stays a bool and a persistent
    # value stays a reference.
    mixed = ValueTree({i: NumberAllocator(i) for i in range(200)})
    mixed[5000] = True
    loaded, conn = reopened(db, 'mixed', mixed)
    assert loaded[5000] is True
    assert [loaded[i].next for i in range(200)] == list(range(200))
    conn.close()
    tracks = TrackTree({2 ** 40 + i: NumberAllocator(i) for i in range(300)})
    loaded, conn = reopened(db, 'tracks', tracks)
    assert [(num, a.next) for num, a in loaded.items()] == \
        [(2 ** 40 + i, i) for i in range(300)]
    conn.close()


def test_a_key_holding_the_separator_is_saved_plainly(db):
    odd = [f'a{STR_SEPARATOR}b', 'plain'] + [f'k{i:03d}' for i in range(200)]
    loaded, conn = reopened(db, 'odd', KeyTable(odd))
    assert list(loaded) == sorted(odd)
    conn.close()


def test_plain_buckets_of_an_older_file_load_and_take_inserts(db):
    # A tree saved with BTrees' own bucket state, as generation 1 did.
    plain = KeyTable()
    plain.__setstate__((((tuple(f'k{i:03d}' for i in range(50)),),),))
    loaded, conn = reopened(db, 'plain', plain)
    assert len(loaded) == 50
    for i in range(50, 400):
        loaded.insert(f'k{i:03d}')
    conn.transaction_manager.commit()
    conn.close()
    again = db.open(transaction_manager=transaction.TransactionManager())
    assert list(again.root()['plain']) == [f'k{i:03d}' for i in range(400)]
    again.close()


@pytest.mark.parametrize('make, value', [
    (KeyTable, lambda i: f'key{i:05d}'),
    (NumberSet, lambda i: i),
    (UserNames, lambda i: f'user{i:05d}'),
])
def test_concurrent_inserts_into_one_packed_bucket_merge(db, make, value):
    tree = make([value(i) for i in range(0, 600, 2)])
    loaded, conn = reopened(db, 'tree', tree)
    conn.close()
    first, second = (transaction.TransactionManager() for _ in range(2))
    one = db.open(transaction_manager=first)
    two = db.open(transaction_manager=second)
    one.root()['tree'].insert(value(101))
    two.root()['tree'].insert(value(103))
    first.commit()
    second.commit()         # resolved, not a ConflictError
    one.close()
    two.close()
    check = db.open(transaction_manager=transaction.TransactionManager())
    assert list(check.root()['tree']) == sorted(
        [value(i) for i in range(0, 600, 2)] + [value(101), value(103)])
    check.close()


def test_buckets_of_the_tables_are_their_packed_classes():
    for tree in (KeyTable([f'k{i:03d}' for i in range(300)]),
                 NumberSet(range(600)),
                 UserNames([f'u{i}' for i in range(99)]),
                 ValueTree({i: i for i in range(300)}),
                 TrackTree({i: None for i in range(300)})):
        kinds = {type(b) for b in savedBuckets(tree)}
        assert kinds == {type(tree)._bucket_type}
        assert type(tree)._bucket_type not in (OOSet, OOBucket, LLSet,
                                               LOBucket)


# What a packed bucket saves is a raw deflate stream that any zlib
# inflates, whichever compressor wrote it.

try:
    from isal import isal_zlib
except ImportError:
    if os.environ.get('CI') == 'true':
        raise
    isal_zlib = None

DEFLATES = [
    pytest.param(zlib.compress, id='zlib'),
    pytest.param(isal_zlib and isal_zlib.compress, id='isal',
                 marks=pytest.mark.skipif(
                     isal_zlib is None,
                     reason='isal (the speed extra) is not installed')),
]


@pytest.fixture(params=DEFLATES)
def deflate(request, monkeypatch):
    monkeypatch.setattr(buckets, 'deflate', request.param)
    return request.param


def test_isal_deflates_when_installed():
    assert buckets.deflate is (zlib.compress if isal_zlib is None
                               else isal_zlib.compress)


def test_tables_written_by_either_deflate_read_back(db, deflate):
    keys = [f'user{i % 37:03d}\x00\x01{i:05d}\x03' for i in range(700)]
    numbers = [i * 13 for i in range(900)]
    for name, tree, items in (('keys', KeyTable(keys), keys),
                              ('users', UserNames(keys), keys),
                              ('nums', NumberSet(numbers), numbers)):
        loaded, conn = reopened(db, name, tree)
        assert list(loaded) == sorted(set(items))
        conn.close()


keyLists = st.lists(st.text(alphabet='\x00\x01\x02\x03a\xe9', max_size=5),
                    min_size=1, max_size=40)


@given(keyLists)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_str_buckets_pack_unless_a_key_holds_the_separator(deflate, keys):
    state = KeyBucket(keys).__getstate__()
    expected = sorted(set(keys))
    if any(STR_SEPARATOR in key for key in keys):
        assert state == (tuple(expected),)
    else:
        text = zlib.decompress(state[0], -15).decode('utf-8', 'surrogatepass')
        assert text.split(STR_SEPARATOR) == expected
    again = KeyBucket()
    again.__setstate__(state)
    assert list(again) == expected


int64s = st.integers(-2 ** 63, 2 ** 63 - 1)


@given(st.lists(int64s, min_size=1, max_size=60))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_int_buckets_save_their_gaps_or_their_values(deflate, values):
    expected = sorted(set(values))
    packed, = NumberBucket(values).__getstate__()
    numbers = array('q', zlib.decompress(packed[1:], -15))
    if sys.byteorder != 'little':
        numbers.byteswap()
    gaps = [b - a for a, b in zip(expected, expected[1:])]
    if all(-2 ** 63 <= gap < 2 ** 63 for gap in gaps):
        assert packed[:1] == b'd'
        assert list(numbers) == expected[:1] + gaps
    else:
        assert packed[:1] == b'v'
        assert list(numbers) == expected
    again = NumberBucket()
    again.__setstate__((packed,))
    assert list(again) == expected
