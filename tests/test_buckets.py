"""Packed buckets: what the tables save comes back the same, in a
FileStorage on disk, whether saved packed or plain, and concurrent
inserts into one packed bucket still merge."""

import pytest
import transaction
import ZODB
import ZODB.FileStorage
from BTrees.LLBTree import LLSet
from BTrees.LOBTree import LOBucket
from BTrees.OOBTree import OOBucket, OOSet

from cybertools_tracking.btree import TrackTree, UserNames
from cybertools_tracking.buckets import STR_SEPARATOR
from cybertools_tracking.index import NumberSet, ValueTree
from cybertools_tracking.trackkeys import KeyTable
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
