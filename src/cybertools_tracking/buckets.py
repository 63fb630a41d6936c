"""Buckets that store their keys (and int values) as one value.

ZODB pickles a bucket's state element by element and calls a Python hook
(``persistent_id``) for every element: a bucket of 120 keys costs 120
hook calls, and every commit writes every bucket it touched whole. The
buckets below hand ZODB one compressed bytes value instead:

* ``PackedStrSet``: a set of str, joined by a separator no key holds and
  compressed (sorted keys share long prefixes);
* ``PackedIntSet``: a set of ints as 64-bit integers (the first and the
  differences between neighbours), compressed;
* ``PackedIntBucket``: a mapping of int to int the same way; a bucket
  holding anything else (a persistent value, a str key) is saved in the
  plain form;
* ``PackedIntKeys``: a mapping of int to persistent objects: the keys
  packed, the values left to ZODB (each must stay a reference in the
  pickle, or a pack would not see it).

Each is a mixin before a BTrees bucket class; the tree class names it as
``_bucket_type``, so the buckets a tree makes are of it. A plain state (as
BTrees saves it, as older files hold it, as conflict resolution returns
it) still loads: the packed form is told apart by its first element (bytes,
or bytes and a tuple), which a plain state never is (its first element is
a tuple of keys or of alternating keys and values). A tree whose single
bucket is saved inside the tree's own record (``PackedTree``) packs it
the same way.
"""

import sys
import zlib
from array import array
from itertools import accumulate
from operator import sub

# Keys of the user-track table never hold it: NUL occurs there only as
# '\x00\x01' (a field end) or '\x00\x02' (an escaped NUL).
STR_SEPARATOR = '\x00\x03'

_SEPARATOR_END = STR_SEPARATOR[-1]

# What compresses packed values: a raw deflate stream, which any zlib
# inflates, so the choice changes no saved format. ISA-L's (the ``speed``
# extra) is the faster one at level 1 (CHANGES.txt has the figures).
try:
    from isal.isal_zlib import compress as deflate
except ImportError:
    deflate = zlib.compress

_SWAP = sys.byteorder != 'little'


class _Packed:
    """The state translation shared by the packed buckets: a bucket's
    state is (items,) or (items, next bucket); packed, items is replaced
    by what ``_encode`` makes of it."""

    @staticmethod
    def _isPacked(first):
        return isinstance(first, bytes)

    def __getstate__(self):
        state = super().__getstate__()
        if state:
            packed = self._encode(state[0])
            if packed is not None:
                return (packed,) + tuple(state[1:])
        return state

    @classmethod
    def _plain(cls, state):
        if state and cls._isPacked(state[0]):
            return (cls._decode(state[0]),) + tuple(state[1:])
        return state

    def __setstate__(self, state):
        super().__setstate__(self._plain(state))

    def _p_resolveConflict(self, old, committed, new):
        # BTrees merges plain states; its answer is saved as it is.
        return super()._p_resolveConflict(
            *[self._plain(state) for state in (old, committed, new)])


class PackedTree:
    """A mixin for a tree whose bucket type is packed: a tree of one
    bucket saves that bucket's state inside its own, ((bucket state,),),
    which is packed the same way, as (packed items,)."""

    @classmethod
    def _plain(cls, state):
        bucket = cls._bucket_type
        if state and len(state) == 1 and bucket._isPacked(state[0]):
            return (((bucket._decode(state[0]),),),)
        return state

    def __getstate__(self):
        state = super().__getstate__()
        if state and len(state) == 1 and len(state[0]) == 1:
            bucketState = state[0][0]
            if len(bucketState) == 1:
                packed = self._bucket_type._encode(bucketState[0])
                if packed is not None:
                    return (packed,)
        return state

    def __setstate__(self, state):
        super().__setstate__(self._plain(state))

    def _p_resolveConflict(self, old, committed, new):
        return super()._p_resolveConflict(
            *[self._plain(state) for state in (old, committed, new)])


class PackedStrSet(_Packed):

    @staticmethod
    def _encode(keys):
        if not keys or set(map(type, keys)) != {str}:
            return None
        joined = STR_SEPARATOR.join(keys)
        # Counting one character is faster than counting two; when the
        # separators are all the '\x03's there are, no key holds one, and
        # no key can hold the separator.
        if joined.count(_SEPARATOR_END) != len(keys) - 1 \
                and joined.count(STR_SEPARATOR) != len(keys) - 1:
            return None         # a key holding it is saved plainly
        return _compress(joined.encode('utf-8', 'surrogatepass'))

    @staticmethod
    def _decode(packed):
        return tuple(_decompress(packed).decode(
            'utf-8', 'surrogatepass').split(STR_SEPARATOR))


def _compress(data):
    # Raw deflate at its fastest level: no header or checksum (the record
    # is ZODB's), and level 1 packs these nearly as well as level 6 in
    # half the time.
    return deflate(data, 1, -15)


def _decompress(data):
    return zlib.decompress(data, -15)


def _packInts(values, exact=False):
    """Ints as bytes: a format byte, then little-endian int64s, compressed:
    the first value and the differences to the previous one (b'd'; sorted
    numbers and time stamps differ by little, which compresses well) or,
    when a difference overflows, the values (b'v'). None when a value is
    not an int64 (with exact, when one is not exactly an int: a bool or
    an IntEnum would come back as a plain int)."""
    if exact and set(map(type, values)) != {int}:
        return None
    try:
        # One list into the array: faster than extending it from a map.
        numbers = array('q', [*values[:1], *map(sub, values[1:], values)])
        code = b'd'
    except OverflowError:
        try:
            numbers, code = array('q', values), b'v'
        except OverflowError:
            return None
    except TypeError:
        return None
    if _SWAP:
        numbers.byteswap()
    return code + _compress(numbers.tobytes())


def _unpackInts(packed):
    numbers = array('q', _decompress(packed[1:]))
    if _SWAP:
        numbers.byteswap()
    if packed[:1] == b'd':
        return tuple(accumulate(numbers))
    return tuple(numbers.tolist())


class PackedIntSet(_Packed):

    @staticmethod
    def _encode(keys):
        return _packInts(keys) if keys else None

    _decode = staticmethod(_unpackInts)


class PackedIntBucket(_Packed):
    """BTrees' state interleaves keys and values; packed, the keys come
    first, then the values, so neighbours are close."""

    @staticmethod
    def _encode(items):
        return _packInts(items[0::2] + items[1::2], exact=True) \
            if items else None

    @staticmethod
    def _decode(packed):
        values = _unpackInts(packed)
        half = len(values) // 2
        items = [None] * len(values)
        items[0::2] = values[:half]
        items[1::2] = values[half:]
        return tuple(items)


class PackedIntKeys(_Packed):
    """A mapping of int keys to objects (persistent ones: they must stay
    references in the pickle, for the pack to see them): the keys are
    packed, the values follow as a tuple."""

    @staticmethod
    def _isPacked(first):
        return isinstance(first, tuple) and len(first) == 2 \
            and isinstance(first[0], bytes)

    @staticmethod
    def _encode(items):
        if not items:
            return None
        keys = _packInts(items[0::2])
        return None if keys is None else (keys, items[1::2])

    @staticmethod
    def _decode(packed):
        keys, values = packed
        keys = _unpackInts(keys)
        items = [None] * (2 * len(keys))
        items[0::2] = keys
        items[1::2] = values
        return tuple(items)
