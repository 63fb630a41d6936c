"""Lazy query results: track numbers now, tracks when they are read."""

from collections.abc import Sequence
from itertools import islice

from ZODB.utils import p64

# Tracks read in a row are asked of the storage this many at a time
# (Connection.prefetch): ZEO and RelStorage load them in one round trip
# instead of one each; a FileStorage ignores it.
PREFETCH_BATCH = 100


class TrackList(Sequence):
    """The tracks whose numbers are in ``nums`` (sorted ascending);
    ``fetch(number)`` loads one.

    Only numbers are gathered when the query runs; a track is loaded when
    it is read, so asking for ten of a million matches loads ten. With
    ``reverse`` the highest numbers (the newest tracks) come first;
    ``limit`` keeps the first that many in that order. ``fetchMany(numbers)``,
    when given, loads tracks read in a row without a call per track.

    With ``jar`` (the storage's connection) tracks read in a row are
    loaded in batches: ``holders(numbers)`` gives the persistent objects
    that hold those tracks (the track tree's buckets), which are asked
    for in one request; ``oids`` ({number: oid as int}) names tracks saved
    as objects of their own whose oids the query already knows.
    """

    def __init__(self, fetch, nums, limit=None, reverse=False, jar=None,
                 oids=None, holders=None, fetchMany=None):
        self._fetch = fetch
        self._fetchMany = fetchMany
        self._source = nums
        self._limit = limit
        self._reverse = reverse
        self._nums = None
        self._jar = jar
        self._oids = oids or {}
        self._holders = holders

    @property
    def nums(self):
        """The selected track numbers, in result order (a list of int)."""
        if self._nums is None:
            source, limit = self._source, self._limit
            if self._reverse:
                if limit is None:
                    nums = list(source)
                    nums.reverse()
                elif hasattr(source, 'maxKey'):
                    nums = _highest(source, limit)
                else:
                    # len() and negative indexes walk every bucket.
                    nums = list(source)[-limit:] if limit else []
                    nums.reverse()
            else:
                nums = list(islice(iter(source), limit))
            self._nums = nums
        return self._nums

    def __len__(self):
        if self._nums is None and self._limit is None:
            return len(self._source)
        return len(self.nums)

    def __getitem__(self, index):
        nums = self._fromStart(index)
        if nums is None:
            nums = self.nums[index]
        if isinstance(index, slice):
            return list(self._load(nums))
        return self._fetch(nums)

    def _fromStart(self, index):
        """The number(s) at index, read from the start of the numbers
        without gathering them all (result[:10], result[0]); None when
        that is not possible (reverse order, negative positions)."""
        if self._nums is not None or self._reverse:
            return None
        limit = self._limit
        if isinstance(index, slice):
            start, stop, step = index.start or 0, index.stop, index.step or 1
            if start < 0 or stop is None or stop < 0 or step < 1:
                return None
            if limit is not None:
                stop = min(stop, limit)
            return list(islice(iter(self._source), start, stop, step))
        if not isinstance(index, int) or index < 0:
            return None
        if limit is not None and index >= limit:
            raise IndexError('track list index out of range')
        for num in islice(iter(self._source), index, None):
            return num
        raise IndexError('track list index out of range')

    def __iter__(self):
        if self._nums is None and not self._reverse:
            return self._load(islice(iter(self._source), self._limit))
        return self._load(self.nums)

    def _load(self, nums):
        """The tracks numbered nums (an iterable), each batch of them
        prefetched before it is read."""
        fetch, jar = self._fetch, self._jar
        if jar is None:
            if self._fetchMany is not None:
                yield from self._fetchMany(nums)
            else:
                yield from map(fetch, nums)
            return
        oids = self._oids
        nums = iter(nums)
        while True:
            batch = list(islice(nums, PREFETCH_BATCH))
            if not batch:
                return
            if len(batch) > 1:
                if all(num in oids for num in batch):
                    jar.prefetch([p64(oids[num]) for num in batch])
                else:
                    if self._holders is not None:
                        holders = [holder for holder in self._holders(batch)
                                   if holder._p_changed is None]
                        if len(holders) > 1:
                            jar.prefetch(holders)
                    # Tracks an older generation saved as objects come
                    # out of the tree unloaded (ghosts); load those in one
                    # request.
                    tracks = [fetch(num) for num in batch]
                    ghosts = [track for track in tracks
                              if getattr(track, '_p_changed', 0) is None]
                    if ghosts:
                        jar.prefetch(ghosts)
                    yield from tracks
                    continue
            yield from map(fetch, batch)

    def __eq__(self, other):
        if isinstance(other, (TrackList, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __bool__(self):
        if self._nums is not None:
            return bool(self._nums)
        # A BTree knows it is empty without counting its buckets.
        return self._limit != 0 and bool(self._source)

    def __repr__(self):
        return repr(list(self))


def _highest(source, limit):
    """The limit highest numbers of source (a BTree or tree set), highest
    first: one descent from the root each, however big source is (its len
    and negative indexes would read every bucket)."""
    nums = []
    try:
        num = source.maxKey()
        while len(nums) < limit:
            nums.append(num)
            num = source.maxKey(num - 1)
    except ValueError:          # nothing (lower) left
        pass
    return nums
