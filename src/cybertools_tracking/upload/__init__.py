"""Uploading usage statistics to an HQ: only what is new, never lost,
never in the way.

* ``payload``: the HQ's JSON body from the tracks after the watermark;
* ``state``: the watermark, the batch being sent and the submission count,
  kept as internal tracks in the tracker's own storage;
* ``policy``: what a reply means next (retry, split, stop) and backoff;
* ``transport``: one POST with the standard library (and why);
* ``watcher``: the daemon thread that uploads every check interval;
* ``uploader``: the three steps per batch, prepare, send, record;
* ``hq``: ``setup_hq`` and ``submit_statistics`` for the tracker.
"""

from cybertools_tracking.upload.hq import UploadMixin
from cybertools_tracking.upload.payload import TRACKS_KEY
from cybertools_tracking.upload.policy import (
    BACKOFF_BASE_S, BACKOFF_MAX_S, Verdict, classify)
from cybertools_tracking.upload.state import SUBMISSIONS_TASK, UPLOAD_TASK
from cybertools_tracking.upload.transport import (
    UPLOAD_PATH, HTTPTransport, Reply, TransportError, uploadURL)
from cybertools_tracking.upload.uploader import (
    DEFAULT_BATCH_TRACKS, HQ_DEFAULT_TIMEOUT, MAX_BATCHES_PER_TICK,
    MAX_BODY_BYTES, Uploader, UploadStatus, doNotTrack)

__all__ = [
    'UploadMixin', 'Uploader', 'UploadStatus', 'HTTPTransport', 'Reply',
    'TransportError', 'Verdict', 'classify', 'doNotTrack', 'uploadURL',
    'HQ_DEFAULT_TIMEOUT', 'DEFAULT_BATCH_TRACKS', 'MAX_BODY_BYTES',
    'MAX_BATCHES_PER_TICK', 'BACKOFF_BASE_S', 'BACKOFF_MAX_S', 'UPLOAD_PATH',
    'TRACKS_KEY', 'SUBMISSIONS_TASK', 'UPLOAD_TASK',
]
