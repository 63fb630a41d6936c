"""A field index over track numbers, after zope.index's FieldIndex.

A forward BTree maps each value to the set of track numbers having it (or,
while there is one, to that number itself), and a ``Length`` counts the
indexed tracks (its conflicts resolve by adding). Track numbers are
64-bit, so the index keeps working past 2**31 tracks.

A reverse BTree (track number -> value) is kept only where the caller
cannot say what a track was indexed under: values taken from a track's
``data``, a mapping its owner may have changed in place. Metadata
attributes change only through the storage, which passes the old value,
so their indexes skip the reverse tree and the write of a bucket of it
in every commit (CHANGES.txt has what that saved).
"""

import datetime
import decimal

from BTrees.Length import Length
from BTrees.LLBTree import LLSet, LLTreeSet, multiunion
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree, OOBucket
from persistent import Persistent

from cybertools_tracking.buckets import (
    PackedIntBucket, PackedIntSet, PackedTree)

_missing = object()


# Writers append numbers at the end of these trees. A bucket split changes
# the parent node and makes each concurrent writer that went through it
# conflict: bigger buckets split less often. A batch that appends many
# numbers to one tree costs the same; a batch that adds a few to each of
# many sets rewrites each one's last bucket, so those grow less.

class NumberBucket(PackedIntSet, LLSet):
    """A bucket of a NumberSet, saved as one compressed value of the gaps
    between its numbers (see ``buckets``)."""


class NumberSet(PackedTree, LLTreeSet):
    """The track numbers indexed under one value."""
    max_leaf_size = 250
    _bucket_type = NumberBucket


class ReverseMap(LOBTree):
    """Track number -> indexed value."""
    max_leaf_size = 120


class ValueBucket(PackedIntBucket, OOBucket):
    """A bucket of a ValueTree: int values each held by one track (time
    stamps) are saved as one compressed value (see ``buckets``); others,
    which map to NumberSets, as BTrees saves them."""


class ValueTree(PackedTree, OOBTree):
    """Indexed value -> its track number(s). New time stamps arrive at the
    end; a range query reads a bucket per 60 to 120 values, not 15 to 30."""
    max_leaf_size = 120
    _bucket_type = ValueBucket


# Indexes whose values are mostly unique: most time stamps (whole seconds)
# have one track. Such an index keeps a lone track number in place of a
# set, which saves writing an object per track and reading one per value in
# a range query. Other indexes (task, user, run) always use sets: their
# values recur, and two writers adding to a set merge, while two writers
# turning the same lone number into a set conflict.
SPARSE_INDEXES = frozenset({'timeStamp'})

KEY_TYPES = (str, bytes, int, float, decimal.Decimal, datetime.date,
             datetime.time, datetime.timedelta)


def _checkKeyType(name, value, whole):
    if isinstance(value, tuple):
        for item in value:
            _checkKeyType(name, item, whole)
        return
    if not isinstance(value, KEY_TYPES):
        raise TypeError(
            f'index {name!r}: {whole!r} cannot be indexed: a '
            f'{type(value).__name__} has no reliable ordering; use str, '
            f'bytes, int, float, Decimal, a date/time, or a tuple of those '
            f'(None leaves the track out of the index)')
    if value != value:
        raise ValueError(f'index {name!r}: {whole!r} cannot be indexed: NaN '
                         f'is not ordered against anything')


class FieldIndex(Persistent):
    """Values of one attribute, indexed for equality, range and prefix.

    With ``reverse=False`` the caller passes the value a track was indexed
    under to ``index`` and ``unindex`` (``old``); with a reverse map the
    index looks it up itself.
    """

    sparse = False
    _rev = None

    def __init__(self, name, sparse=None, reverse=True):
        self.name = name
        self.sparse = name in SPARSE_INDEXES if sparse is None else sparse
        self._fwd = ValueTree()
        if reverse:
            self._rev = ReverseMap()
        self._num = Length()

    @property
    def reverse(self):
        return self._rev is not None

    def __len__(self):
        return self._num()

    def checkValue(self, value):
        """Raise TypeError (ValueError for NaN) if value cannot be a key of
        this index; None is always accepted (it leaves a track out).

        BTree keys must be ordered against each other; a value the index's
        keys cannot be compared with would break the tree, so it is refused
        before anything is written. Mutable or partially ordered values
        (list, dict, set) are refused too: they would sort wrongly later.
        """
        if value is None:
            return
        if type(value) is getattr(self, '_v_keyType', None):
            # Values of one exact type as the keys (str or int) always
            # order against them; the cache goes with the object's state.
            return
        _checkKeyType(self.name, value, value)
        fwd = self._fwd
        if not fwd:
            return
        try:
            # The comparisons an insert makes along its path through the
            # tree; a value already indexed passed the rest when it came.
            if value in fwd:
                # Most values of a task index are indexed already: they
                # learn the keys' type too, or each would look it up.
                if type(value) in (str, int) and type(fwd.minKey()) \
                        is type(fwd.maxKey()) is type(value):
                    self._v_keyType = type(value)
                return
            low, high = fwd.minKey(), fwd.maxKey()
            for key in (low, high):
                value < key
                key < value
            if type(low) is type(high) is type(value) \
                    and type(value) in (str, int):
                self._v_keyType = type(value)
        except TypeError:
            key = fwd.minKey()
            raise TypeError(
                f'index {self.name!r}: value {value!r} '
                f'({type(value).__name__}) cannot be ordered against the '
                f'values already indexed ({type(key).__name__}); use '
                f'{type(key).__name__} values for {self.name!r}') from None

    def index(self, num, value, old=None):
        """Index track number num under value (None: leave it out).

        old is what num was indexed under (None: nothing); an index with a
        reverse map knows it and ignores old.
        """
        rev = self._rev
        if rev is not None:
            old = rev.get(num)      # None is never indexed, never stored
        if old is not None:
            if value is not None and old == value \
                    and type(old) is type(value):
                return
            self._remove(num, old)
        if value is None:
            return
        fwd = self._fwd
        ids = fwd.get(value)
        if ids is None:
            if self.sparse:
                fwd[value] = num
            else:
                fwd[value] = NumberSet((num,))
        elif isinstance(ids, int):
            if ids == num:
                return          # indexed there already (old was wrong)
            fwd[value] = NumberSet((ids, num))
        elif not ids.insert(num):
            return              # indexed there already (old was wrong)
        if rev is not None:
            rev[num] = value
        self._num.change(1)

    def unindex(self, num, old=None):
        """Take track number num out of the index (a no-op if absent);
        old as for ``index``."""
        if self._rev is not None:
            old = self._rev.get(num)
        if old is not None:
            self._remove(num, old)

    def _remove(self, num, old):
        if self._rev is not None:
            del self._rev[num]
        fwd = self._fwd
        ids = fwd.get(old)
        if ids is None:
            return
        if isinstance(ids, int):
            if ids != num:
                return
        elif num in ids:
            ids.remove(num)
            if ids:
                self._num.change(-1)
                return
        else:
            return
        del fwd[old]
        self._num.change(-1)
        if not fwd:
            # The next value may be of another type.
            self._v_keyType = None

    def values(self):
        """The distinct indexed values, sorted."""
        return self._fwd.keys()

    def lookup(self, value):
        """The set of track numbers indexed under value (maybe empty)."""
        try:
            ids = self._fwd.get(value)
        except TypeError:
            raise TypeError(self._typeMessage(value)) from None
        if ids is None:
            return LLTreeSet()
        return LLTreeSet((ids,)) if isinstance(ids, int) else ids

    def lookupRange(self, low=None, high=None):
        """Track numbers whose value v satisfies low <= v <= high; None
        leaves that end open."""
        try:
            return multiunion(list(self._fwd.values(low, high)))
        except TypeError:
            raise TypeError(self._typeMessage(
                low if low is not None else high)) from None

    def lookupPrefix(self, prefix):
        """Track numbers whose (str) value starts with prefix."""
        sets = []
        try:
            for key, ids in self._fwd.items(min=prefix):
                if not (isinstance(key, str) and key.startswith(prefix)):
                    break
                sets.append(ids)
        except TypeError:
            raise TypeError(self._typeMessage(prefix)) from None
        return multiunion(sets)

    def _typeMessage(self, value):
        example = self._fwd.minKey() if self._fwd else None
        return (f'query on {self.name!r}: {value!r} '
                f'({type(value).__name__}) cannot be compared with the '
                f'indexed values ({type(example).__name__})')

    def items(self):
        """(track number, value) pairs: in number order from the reverse
        map, else in value order from the forward one."""
        if self._rev is not None:
            return self._rev.items()
        return ((num, value) for value, ids in self._fwd.items()
                for num in ((ids,) if isinstance(ids, int) else ids))

    def check(self, expected, unknown=()):
        """Differences between this index and expected ({num: value}).

        unknown: numbers whose value nobody can tell (their tracks cannot
        be read); whatever the index holds for them passes. Returns a list
        of str, empty when the index agrees.
        """
        problems = []
        name = self.name
        rev = {}
        for num, value in self.items():
            if num in rev:
                problems.append(f'{name}: track {num} indexed under '
                                f'{rev[num]!r} and {value!r}')
            rev[num] = value
        for num, value in expected.items():
            if num not in rev:
                problems.append(f'{name}: track {num} missing from index')
            elif rev[num] != value:
                problems.append(f'{name}: track {num} indexed as '
                                f'{rev[num]!r}, is {value!r}')
        for num in rev:
            if num not in expected and num not in unknown:
                problems.append(f'{name}: index holds track {num} which '
                                f'has no such value or does not exist')
        fwdCount = 0
        for value, ids in self._fwd.items():
            for num in ((ids,) if isinstance(ids, int) else ids):
                fwdCount += 1
                if rev.get(num, _missing) != value:
                    problems.append(f'{name}: forward entry {value!r} -> '
                                    f'{num} disagrees with reverse entry')
        if fwdCount != len(rev):
            problems.append(f'{name}: forward index holds {fwdCount} '
                            f'entries, reverse {len(rev)}')
        if self._num() != len(rev):
            problems.append(f'{name}: count says {self._num()}, '
                            f'index holds {len(rev)}')
        return problems
