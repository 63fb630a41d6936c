"""Where the uploader keeps its place: tracks of two internal tasks in the
tracker's own TrackingStorage, so the place travels with the data it
points into and survives restarts.

* ``__submissions__``: one track per accepted batch, as a Statistic's
  (``Count`` is the number of successful submissions), plus the
  ``Watermark`` (the highest track number uploaded) and the batch's
  ``Key``. Its time stamp is the time of the last success. Writing it is
  the whole "success" transaction, so count, watermark and time move
  together or not at all.
* ``__upload__``: the batch being sent (``Key``, ``After``, ``Through``),
  written before the first attempt. A retry, in this process or after a
  restart, resends the same tracks under the same key, which lets an HQ
  drop a batch it already has when the success was not recorded here.
  One track per tracker session, updated in place.

The newest track of each task is the one with the highest number: only
the uploader's connection writes them, and a connection's numbers rise
(a new process reserves numbers above every earlier one).
"""

from dataclasses import dataclass

from cybertools_tracking.names import SUBMISSIONS_TASK, UPLOAD_TASK


@dataclass(frozen=True)
class Pending:
    key: str
    after: int
    through: int


@dataclass(frozen=True)
class UploadState:
    watermark: int = 0
    submissions: int = 0
    lastSuccess: int | None = None   # epoch seconds
    lastKey: str | None = None
    pending: Pending | None = None

    @property
    def first(self):
        """True until a batch has been accepted."""
        return self.submissions == 0 and self.watermark == 0


def _newest(storage, task, uuid):
    # One user per database is the rule; other users' tracks (a storage
    # shared by a server-side app) are skipped.
    for track in storage.query(taskId=task, reverse=True):
        if track.userName == uuid:
            return track
    return None


def _int(value, default=0):
    return value if isinstance(value, int) and not isinstance(value, bool) \
        else default


def readState(storage, uuid):
    """The UploadState recorded for uuid (all zero when none is)."""
    done = _newest(storage, SUBMISSIONS_TASK, uuid)
    watermark = submissions = 0
    lastSuccess = lastKey = None
    if done is not None:
        watermark = _int(done.data.get('Watermark'))
        submissions = _int(done.data.get('Count'))
        lastSuccess = done.timeStamp
        lastKey = done.data.get('Key')
    pending = None
    sending = _newest(storage, UPLOAD_TASK, uuid)
    if sending is not None:
        data = sending.data
        candidate = Pending(str(data.get('Key')), _int(data.get('After'), -1),
                            _int(data.get('Through'), -1))
        # A record from before the last success (or for another place) is
        # spent; only one that starts at the watermark is still waiting.
        if candidate.key != lastKey and candidate.after == watermark \
                and candidate.through > watermark:
            pending = candidate
    return UploadState(watermark, submissions, lastSuccess, lastKey, pending)


def savePending(storage, uuid, runId, pending):
    """Record the batch about to be sent (in the caller's transaction)."""
    storage.saveUserTrack(
        UPLOAD_TASK, runId, uuid,
        {'Key': pending.key, 'After': pending.after,
         'Through': pending.through},
        update=bool(runId), overwrite=True)


def saveImported(storage, uuid, runId, submissions, watermark, timeStamp):
    """Record the place of tracks brought from an original AnonymousUsage
    database: submissions accepted so far, the last at timeStamp, and
    every track up to watermark uploaded (in the caller's transaction)."""
    storage.saveUserTrack(
        SUBMISSIONS_TASK, runId, uuid,
        {'Count': submissions, 'Watermark': watermark, 'Key': None},
        timeStamp=timeStamp)


def saveSuccess(storage, uuid, runId, state, key, through):
    """Record an accepted batch: count, watermark and time together (in the
    caller's transaction, which should hold nothing else)."""
    storage.saveUserTrack(
        SUBMISSIONS_TASK, runId, uuid,
        {'Count': state.submissions + 1, 'Watermark': through, 'Key': key})
