"""The contracts of the uploader: what the tracker offers the host
application, what the uploader needs from the tracker, what the uploader
does, and what it needs from HTTP.

The upload layer does not import the usage layer: the tracker holds an
uploader and offers it what IUploadSource names.
"""

from zope.interface import Attribute, Interface


class IHQClient(Interface):
    """The upload side of AnonymousUsageTracker, as the original had it."""

    HQ_DEFAULT_TIMEOUT = Attribute(
        "int or float: seconds a whole exchange with the HQ may take "
        "(connecting, sending, status line, headers and body; 10). Set it "
        "on the class or on one tracker; it applies from the next request.")
    uploader = Attribute(
        "IUploader or None: the uploader setup_hq made (its submissions, "
        "status and pending() tell how uploads go); None without an HQ.")

    def setup_hq(host, api_key):
        """Configure the HQ to upload to and start the watcher.

        host: 'www.example.com' (https is meant), 'https://...' or
        'http://...', optionally with a path prefix; a bad host is a
        ValueError saying what is allowed. api_key: the key the HQ gave
        the application (str); an empty key leaves uploads off.
        The watcher (a daemon thread) runs while the tracker's
        check_interval_s and submit_interval_s are both set. Calling it
        again with other settings clears a stop caused by a refused key.
        On a closed tracker it raises TrackerClosedError (a RuntimeError).
        """

    def submit_statistics():
        """Upload what changed since the last successful upload.

        Values JSON cannot carry as they are travel in the forms
        cybertools_tracking.protocol documents; none of them raises here.

        Return True when the HQ accepted everything that was waiting (or
        nothing was), False otherwise. Never raises: problems are logged
        and the backlog stays in the local database for the next try.
        Returns False without any network access when no HQ is set up,
        the tracker is disabled, the api key, application name or
        version is missing, DO_NOT_TRACK is set, the HQ refused the key
        (until setup_hq changes it) or asked, with Retry-After, not to be
        contacted before a time still in the future.
        """


class IUploadSource(Interface):
    """What an uploader needs from the tracker it uploads for."""

    db = Attribute("ZODB.DB: the database holding the tracker's storage; "
                   "the uploader opens a connection of its own on it.")
    uuid = Attribute("str: the user identifier sent with every upload.")
    run_id = Attribute("int: the tracker session's run id (0: none).")
    application_name = Attribute("str: sent as the Application Name; "
                                 "nothing is uploaded while it is empty.")
    application_version = Attribute("str: sent as the Application "
                                    "Version; nothing is uploaded while "
                                    "it is empty.")
    enabled = Attribute("bool: uploads happen only while it is true.")
    check_interval_s = Attribute(
        "int or float seconds >= 0: how often the watcher checks (0: no "
        "watcher).")
    submit_interval_s = Attribute(
        "int or float seconds >= 0: the least time between two uploads "
        "by the watcher (0: no watcher).")
    HQ_DEFAULT_TIMEOUT = Attribute(
        "int or float > 0: seconds an exchange with the HQ may take; any "
        "other value means 10.")

    def flush():
        """Commit the changes the tracker still holds, so an upload right
        after sees them."""

    def registry():
        """Return {name: {'type', 'description', ...}} of the trackables
        (internal ones left out)."""

    def storage_oid():
        """Return the oid of the TrackingStorage the tracker writes into,
        or None when it has none yet (the uploader then uses the one
        under the default root key)."""


class IUploader(Interface):
    """Sends a tracker's new tracks to its HQ, batch by batch."""

    url = Attribute("str: the upload URL ({host}/usagestats/upload).")
    api_key = Attribute("str: the api key sent in the body.")
    timeout = Attribute(
        "float: the deadline of each exchange in seconds; the tracker's "
        "HQ_DEFAULT_TIMEOUT unless set on the uploader.")
    batch_tracks = Attribute(
        "int: at most this many tracks per request; halved when the HQ "
        "answers 413.")
    max_body_bytes = Attribute(
        "int: a body larger than this is split before it is sent.")
    status = Attribute(
        "UploadStatus: a snapshot of failures, next_attempt (epoch "
        "seconds before which the watcher does not try again), hold_until "
        "(Retry-After: before it nobody tries), stopped (why uploads are "
        "stopped, or None), last_error and last_reply (the start of the "
        "last 2xx reply's text, the api key removed).")
    submissions = Attribute(
        "int: successful submissions so far (read from the database).")
    watcher_alive = Attribute("bool: True while the watcher thread runs.")

    def configure(host, api_key):
        """Set the HQ; ValueError for a bad host. New settings clear a
        stop caused by 401/403 and the backoff."""

    def blocked():
        """Return why an upload may not touch the network now (a str), or
        None when it may."""

    def submit(maxBatches=None, flush=True):
        """Send the batches that are waiting (at most maxBatches; None: all
        of them), after flushing the tracker when flush is true; see
        IHQClient's submit_statistics. Never raises."""

    def pending():
        """Return True if tracks are waiting for upload (after flushing
        the tracker, so changes just made count)."""

    def tick():
        """One check of the watcher: submit when the submit interval has
        passed since the last success, the backoff allows it and
        something is waiting, at most MAX_BATCHES_PER_TICK batches. It does
        not flush the tracker (it runs in the watcher's thread; the
        write-behind writer commits on its own). Return the result of
        submit, or None when it did not try."""

    def startWatcher():
        """Start the watcher thread if the tracker's check and submit
        intervals are both set, none runs yet and DO_NOT_TRACK is unset;
        return True if a watcher runs afterwards."""

    def close():
        """Stop the watcher (at once when idle; a request in flight is cut
        off) and close the uploader's database connection. Idempotent."""


class IReply(Interface):
    """A complete HTTP reply."""

    status = Attribute("int: the HTTP status code.")
    headers = Attribute("dict: header names in lower case to values.")
    text = Attribute("str: the start of the body, decoded leniently.")

    def header(name, default=None):
        """Return the header's value (name in any case), or default."""


class ITransport(Interface):
    """Posts one body and returns the reply."""

    def post(url, body, headers, timeout):
        """POST body (bytes) with headers (a dict) to url; return an IReply
        for any complete HTTP reply, whatever its status. A refused or
        reset connection, no complete reply within timeout seconds (a
        deadline for the whole exchange, not per read), a reply that is
        not HTTP or one cut short raises TransportError."""

    def abort():
        """Cut off requests in flight and refuse new ones (for close)."""
