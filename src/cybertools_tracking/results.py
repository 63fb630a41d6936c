"""Lazy query results: track numbers now, tracks when they are read."""

from collections.abc import Sequence
from itertools import islice


class TrackList(Sequence):
    """The tracks whose numbers are in ``nums`` (sorted ascending);
    ``fetch(number)`` loads one.

    Only numbers are gathered when the query runs; a track is loaded when
    it is read, so asking for ten of a million matches loads ten. With
    ``reverse`` the highest numbers (the newest tracks) come first;
    ``limit`` keeps the first that many in that order.
    """

    def __init__(self, fetch, nums, limit=None, reverse=False):
        self._fetch = fetch
        self._source = nums
        self._limit = limit
        self._reverse = reverse
        self._nums = None

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
            return [self._fetch(num) for num in nums]
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
        fetch = self._fetch
        if self._nums is None and not self._reverse:
            nums = islice(iter(self._source), self._limit)
            return map(fetch, nums)
        return map(fetch, self.nums)

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
