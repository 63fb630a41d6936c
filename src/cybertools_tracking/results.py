"""Lazy query results: track numbers now, tracks when they are read."""

from collections.abc import Sequence
from itertools import islice


class TrackList(Sequence):
    """The tracks whose numbers are in ``nums`` (sorted ascending).

    Only numbers are gathered when the query runs; a track is loaded when
    it is read, so asking for ten of a million matches loads ten. With
    ``reverse`` the highest numbers (the newest tracks) come first;
    ``limit`` keeps the first that many in that order.
    """

    def __init__(self, tracks, nums, limit=None, reverse=False):
        self._tracks = tracks
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
                else:
                    size = len(source)
                    # Slicing from the end of a BTree's keys is cheap;
                    # walking to the end is not.
                    nums = list(source[max(size - limit, 0):size])
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
        if isinstance(index, slice):
            return [self._tracks[num] for num in self.nums[index]]
        return self._tracks[self.nums[index]]

    def __iter__(self):
        tracks = self._tracks
        if self._nums is None and not self._reverse:
            nums = islice(iter(self._source), self._limit)
            return (tracks[num] for num in nums)
        return (tracks[num] for num in self.nums)

    def __eq__(self, other):
        if isinstance(other, (TrackList, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __bool__(self):
        return len(self) > 0

    def __repr__(self):
        return repr(list(self))
