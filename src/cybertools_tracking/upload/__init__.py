"""Uploading usage statistics to an HQ: only what is new, never lost,
never in the way.

* ``payload``: the HQ's JSON body from the tracks after the watermark
  (the protocol itself is ``cybertools_tracking.protocol``);
* ``place``: the watermark, the batch being sent and the submission
  count, kept as internal tracks in the tracker's own storage;
* ``policy``: what a reply means next (retry, split, stop) and backoff;
* ``transport``: one POST with the standard library (and why);
* ``watcher``: the daemon thread that uploads every check interval;
* ``uploader``: the three steps per batch, prepare, send, record.

The tracker (``cybertools_tracking.usage``) holds an ``Uploader`` and
offers it what ``interfaces.IUploadSource`` names; this package does not
import the usage layer.
"""

from cybertools_tracking.names import SUBMISSIONS_TASK, UPLOAD_TASK
from cybertools_tracking.protocol import TRACKS as TRACKS_KEY
from cybertools_tracking.protocol import UPLOAD_PATH
from cybertools_tracking.upload.policy import (
    BACKOFF_BASE_S, BACKOFF_MAX_S, Verdict, classify)
from cybertools_tracking.upload.transport import (
    HTTPTransport, Reply, TransportError, uploadURL)
from cybertools_tracking.upload.uploader import (
    DEFAULT_BATCH_TRACKS, HQ_DEFAULT_TIMEOUT, MAX_BATCHES_PER_TICK,
    MAX_BODY_BYTES, Uploader, UploadStatus, checkSettings, doNotTrack,
    redact)

__all__ = [
    'Uploader', 'UploadStatus', 'HTTPTransport', 'Reply',
    'TransportError', 'Verdict', 'classify', 'doNotTrack', 'uploadURL',
    'checkSettings', 'redact',
    'HQ_DEFAULT_TIMEOUT', 'DEFAULT_BATCH_TRACKS', 'MAX_BODY_BYTES',
    'MAX_BATCHES_PER_TICK', 'BACKOFF_BASE_S', 'BACKOFF_MAX_S', 'UPLOAD_PATH',
    'TRACKS_KEY', 'SUBMISSIONS_TASK', 'UPLOAD_TASK',
]
