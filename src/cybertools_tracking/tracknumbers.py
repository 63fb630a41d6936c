"""Track numbers that concurrent writers do not fight over.

A single counter on the storage would make every pair of concurrent
writers conflict (and two of them would hand out the same number). Instead
each connection reserves a block of numbers in a short transaction of its
own and hands them out locally: numbers stay unique across threads,
processes and ZEO clients, nearly ordered by time, and a single writer
still gets 1, 2, 3... Blocks start at one number and double up to
``MAX_BLOCK`` so a writer that saves a handful of tracks wastes few;
``release()`` gives the unused tail back when nobody reserved after it.
"""

import transaction
from persistent import Persistent
from ZODB.POSException import ConflictError, POSKeyError
from ZODB.utils import z64

from cybertools_tracking import retries

MAX_BLOCK = 1024


class NumberAllocator(Persistent):
    """The next free number; changed only in short transactions."""

    def __init__(self, start=1):
        self.next = start

    def take(self, count):
        start = self.next
        self.next = start + count
        return start


class BlockCursor:
    """The block of numbers one connection holds: [next, end)."""

    __slots__ = ('next', 'end', 'size')

    def __init__(self):
        self.next = self.end = 0
        self.size = 0


def _inSameTransaction(allocator):
    """True when the allocator cannot be changed from another connection:
    it is not stored yet, not committed yet, or already changed here."""
    if allocator._p_jar is None:
        return True
    allocator._p_activate()
    return allocator._p_changed or allocator._p_serial == z64


def reserve(allocator, count, attempts=20):
    """Reserve count numbers in a transaction of their own; return the
    first. The caller's transaction is not touched."""
    db = allocator._p_jar.db()
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        # Returns only the numbers of the try that committed. Concurrent
        # reservations conflict (the allocator has no merge: two blocks
        # must not overlap); the pauses between tries keep writers on
        # RelStorage, where a commit waits for the other's lock and then
        # fails, from colliding again in step.
        return retries.run(tm, lambda: conn.get(allocator._p_oid).take(count),
                           attempts=attempts)
    finally:
        conn.close()


def nextNumber(allocator, cursor):
    """Hand out the next number for the connection that owns cursor."""
    if cursor.next < cursor.end:
        num = cursor.next
        cursor.next += 1
        return num
    if _inSameTransaction(allocator):
        return allocator.take(1)
    try:
        size = min(max(cursor.size * 2, 1), MAX_BLOCK)
        start = reserve(allocator, size)
    except POSKeyError:
        # Committed by nobody yet (e.g. a savepoint-only object).
        return allocator.take(1)
    cursor.size = size
    cursor.next, cursor.end = start + 1, start + size
    return start


def release(allocator, cursor):
    """Give back the unused tail of the cursor's block if nobody reserved
    numbers after it; return how many were given back."""
    if cursor.next >= cursor.end or allocator._p_jar is None:
        return 0
    db = allocator._p_jar.db()
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    given = 0
    try:
        for attempt in tm.attempts(5):
            with attempt:
                shared = conn.get(allocator._p_oid)
                given = 0
                if shared.next == cursor.end:
                    given = cursor.end - cursor.next
                    shared.next = cursor.next
    except ConflictError:
        return 0
    finally:
        conn.close()
    cursor.end = cursor.next
    return given
