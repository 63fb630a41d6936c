"""Keys of the user-track table: (userName, runId, taskId, timeStamp,
number) as one order-preserving str, followed by the track's ZODB oid.

TrackingStorage keeps one sorted set with a key per track. It answers
``getLastUserTrack`` (the greatest key under a (user, run, task) prefix),
``getUserTracks`` and a query for one task and one user (one range per run
of the user) in a few bucket reads, however many tracks there are.

Why this order: a writer saves the tracks of one user in one run (a
tracker session, an upload), so a batch of saves lands in a few adjacent
buckets at the end of that user's range, not in one bucket per task all
over the table, and a commit rewrites the few buckets of each user it
touches rather than one for every task.

Why a str and not a tuple: ZODB pickles through a Python hook called for
every object, and unpickles every object, so a bucket of 30 five-tuples
costs 180 of each and a BTree node of 250 keys 1,500; one str per key
costs one.

The encoding keeps the tuple order: a str field is escaped (``\\x00``
becomes ``\\x00\\x02``), a time stamp is 16 hex digits (offset by 2**63,
so negative ones sort first), a run id, number or oid is a digit count
(``'0'`` plus the count) followed by its hex digits, and every field but
the last three ends with ``\\x00\\x01``, which sorts before any
character that can follow in a longer name or a number.

Why the oid: a query that finds a user's tracks here loads each track
straight by its oid, not through the bucket of the track tree that holds
it, which for tracks spread over months is a bucket (and a ghost per
neighbour) per track, the larger part of such a query's cost from a
cold cache (CHANGES.txt has the figures). The
number sorts before it, so the oid never changes the order; 0 stands for
a track that had none yet (saved into a storage outside a database).
"""

import struct

from BTrees.OOBTree import OOSet, OOTreeSet

from cybertools_tracking.buckets import PackedStrSet, PackedTree

# The track attributes queried through this table rather than a field
# index: every key starts with the userName, so an index beside it would
# rewrite the last bucket of one number set per user in every commit (with
# users spread over a batch, most of them) for what the table knows. The
# same holds for a run: the storage keeps the users of each run (written
# only when a user first saves into the run), and the table has each
# user's tracks of the run in one range.
TABLE_ATTRIBUTES = ('userName', 'runId')

SEP = '\x00\x01'
_ESC = '\x00\x02'
_OFFSET = 2 ** 63


def _name(value):
    return value.replace('\x00', _ESC) if '\x00' in value else value


def _int(value, offset=0):
    value += offset
    if not 0 <= value < 2 ** 64:
        raise ValueError(f'{value - offset} is out of range for a track key '
                         f'(64-bit)')
    return f'{value:016x}'


_LIMIT = 2 ** 64
# The digit count that starts a _var, by count.
_DIGITS = tuple(chr(48 + count) for count in range(17))
# ZODB.utils.u64 without its Python call.
_u64 = struct.Struct('>Q').unpack


def _var(value):
    # A digit count, then the hex digits without leading zeros: shorter
    # means smaller, so the order holds, in 2 to 7 characters for the run
    # ids, numbers and oids of any real database instead of 16.
    if not 0 <= value < 2 ** 64:
        raise ValueError(f'{value} is out of range for a track key '
                         f'(64-bit)')
    digits = f'{value:x}' if value else ''
    return chr(48 + len(digits)) + digits


def _readVar(key, pos):
    """(value, end) of the _var at key[pos:]."""
    end = pos + 1 + ord(key[pos]) - 48
    return (int(key[pos + 1:end], 16) if end > pos + 1 else 0), end


def makeKey(userName, runId, taskId, timeStamp, num, oid=0):
    """The key of one track; oid is its ZODB oid as an int (0: none)."""
    # Every save makes a key: plain ints in range (run, number and oid
    # above 0) skip the checks and calls the general form below makes.
    if type(runId) is type(num) is type(oid) is type(timeStamp) is int \
            and 0 < runId < _LIMIT and 0 < num < _LIMIT \
            and 0 < oid < _LIMIT and -_OFFSET <= timeStamp < _OFFSET:
        if '\x00' in userName:
            userName = userName.replace('\x00', _ESC)
        if '\x00' in taskId:
            taskId = taskId.replace('\x00', _ESC)
        runId = f'{runId:x}'
        num = f'{num:x}'
        oid = f'{oid:x}'
        return (f'{userName}{SEP}{_DIGITS[len(runId)]}{runId}{SEP}{taskId}'
                f'{SEP}{timeStamp + _OFFSET:016x}{_DIGITS[len(num)]}{num}'
                f'{_DIGITS[len(oid)]}{oid}')
    return (f'{_name(userName)}{SEP}{_var(runId)}{SEP}{_name(taskId)}{SEP}'
            f'{_int(timeStamp, _OFFSET)}{_var(num)}{_var(oid)}')


def trackKey(num, track):
    """The key of track number num as the storage holds it (with the
    track's oid, 0 before it has one)."""
    oid = track._p_oid
    return makeKey(track.userName, track.runId, track.taskId,
                   track.timeStamp, num, 0 if oid is None else _u64(oid)[0])


def _tail(key):
    """(number, oid, where the oid starts) of a key or a stem."""
    # After the last separator come the time stamp (16 hex digits), the
    # number and the oid; no separator can occur in them.
    num, end = _readVar(key, key.rindex(SEP) + 18)
    oid = _readVar(key, end)[0] if end < len(key) else 0
    return num, oid, end


def stem(key):
    """The key without its oid: what names the track."""
    return key[:_tail(key)[2]]


def withOid(stemKey, oid):
    """The key of a stem with an oid."""
    return stemKey + _var(oid)


def prefix(userName, runId=None, taskId=None):
    """The common start of the keys of a user, a user's run, or a user's
    tracks for one task in one run."""
    text = _name(userName) + SEP
    if runId is None:
        return text
    text += _var(runId) + SEP
    if taskId is None:
        return text
    return text + _name(taskId) + SEP


def _upper(start):
    # Every prefix ends with a separator; the keys under it continue with a
    # name or hex digits, all below the separator's successor.
    return start[:-1] + '\x02'


def keysWith(table, start):
    """The keys of table (a sorted set of str) starting with start."""
    return table.keys(start, _upper(start), excludemax=True)


def lastWith(table, start):
    """The greatest key of table starting with start, or None."""
    try:
        key = table.maxKey(_upper(start))
    except ValueError:          # no key at or below the bound
        return None
    return key if key.startswith(start) else None


def pairsOf(table, start):
    """(number, oid) of the keys starting with start (unsorted)."""
    return [_tail(key)[:2] for key in keysWith(table, start)]


def pairsOfNamePrefix(table, text):
    """(number, oid) of the keys of the users whose name starts with text
    (unsorted). An escaped name never ends in a bare NUL, so the keys
    starting with the escaped text are exactly those users' keys."""
    start = _name(text)
    pairs = []
    for key in table.keys(start):
        if not key.startswith(start):
            break
        pairs.append(_tail(key)[:2])
    return pairs


def runsOf(table, userName):
    """The run ids the user has tracks in, ascending: one lookup per run,
    jumping over the run's keys."""
    start = prefix(userName)
    bound = _upper(start)
    low = start
    while True:
        try:
            key = table.minKey(low)
        except ValueError:      # no key at or above low
            return
        if key >= bound:
            return
        runId = _readVar(key, len(start))[0]
        yield runId
        low = _upper(prefix(userName, runId))


def numOf(key):
    """The track number of a key."""
    return _tail(key)[0]


def oidOf(key):
    """The oid a key ends with, as an int (0: none recorded)."""
    return _tail(key)[1]


def find(table, stemKey):
    """The key of table whose stem is stemKey, or None: the oid it was
    saved with need not be known."""
    try:
        key = table.minKey(stemKey)
    except ValueError:          # no key at or above it
        return None
    return key if stem(key) == stemKey else None


def split(key):
    """(userName, runId, taskId, timeStamp, number) of a key or a stem."""
    userName, runId, taskId, numbers = key.split(SEP)
    return (userName.replace(_ESC, '\x00'), _readVar(runId, 0)[0],
            taskId.replace(_ESC, '\x00'),
            int(numbers[:16], 16) - _OFFSET, _readVar(numbers, 16)[0])


# The task-run table: a key per (userName, taskId, runId) that has
# tracks, in another sorted set of str. It tells a one-task-one-user query
# which runs of the user have tracks of the task, so such a query reads
# one range of the user-track table per run that has some, not one per
# run of the user. A key is new when a user first saves a task in a run;
# the user's keys sit together, so a batch of a user's saves adds its new
# keys to one or two buckets.

def taskKey(taskId, userName, runId):
    """The task-run table key of a user's tracks of a task in a run."""
    if type(runId) is int and 0 < runId < _LIMIT:
        if '\x00' in userName:
            userName = userName.replace('\x00', _ESC)
        if '\x00' in taskId:
            taskId = taskId.replace('\x00', _ESC)
        runId = f'{runId:x}'
        return f'{userName}{SEP}{taskId}{SEP}{_DIGITS[len(runId)]}{runId}'
    return f'{_name(userName)}{SEP}{_name(taskId)}{SEP}{_var(runId)}'


def splitTaskKey(key):
    """(taskId, userName, runId) of a task-run table key."""
    userName, taskId, runId = key.split(SEP)
    return (taskId.replace(_ESC, '\x00'), userName.replace(_ESC, '\x00'),
            _readVar(runId, 0)[0])


def runsOfTaskUser(table, taskId, userName):
    """The run ids in which the user has tracks of the task, ascending."""
    start = f'{_name(userName)}{SEP}{_name(taskId)}{SEP}'
    return [_readVar(key, len(start))[0] for key in keysWith(table, start)]


class KeyBucket(PackedStrSet, OOSet):
    """A bucket of the table: its keys are saved as one compressed value
    (see ``buckets``); a batch of scattered users rewrites hundreds."""


class KeyTable(PackedTree, OOTreeSet):
    """The sorted set of keys.

    Writers insert at the end of a (user, run, task) range; a bucket split
    changes the parent node and makes the concurrent writers that went
    through it conflict. Buckets four times the default size split four
    times less often.
    """
    max_leaf_size = 120
    _bucket_type = KeyBucket


class TaskRunTable(KeyTable):
    """The task-run table. Its keys are short: a bucket holds twice as
    many (a user's keys of many runs and tasks)."""
    max_leaf_size = 250
