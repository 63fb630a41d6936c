"""A small HQ stand-in for the uploader tests: a real HTTP server on
127.0.0.1 in a thread that records every upload and answers as told.

    hq = HQStandIn(); hq.start()
    hq.then(Respond(500), Respond(200))     # the next two replies
    hq.rule = lambda upload: ...            # or decide per upload
    hq.wait_for(2)                          # two uploads received
    hq.close()

Behaviours: ``Respond(status, headers, body)``, ``Hang()`` (no reply until
the stand-in closes), ``Raw(bytes)`` (write bytes as they are and hang
up: garbage, or a reply cut short), ``Drip(bytes, interval)`` (write a
byte every interval seconds until done or the client hangs up).

Field and header names come from ``cybertools_tracking.protocol``, as the
real HQ's do.
"""

import collections
import http.server
import json
import threading
import time
from dataclasses import dataclass, field

from cybertools_tracking import protocol


@dataclass
class Respond:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b'{"status": "ok"}'


@dataclass
class Hang:
    """Read the request, then answer nothing until released."""


@dataclass
class Raw:
    data: bytes


@dataclass
class Drip:
    """Write data a byte at a time; ``sent`` counts what got out before
    the client hung up (all of it if it waited)."""

    data: bytes
    interval: float = 0.1
    start: int = 0          # bytes written at once before the drip
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)


CUT_SHORT = Raw(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                b'Content-Length: 200\r\n\r\n{"status": "o')
GARBAGE = Raw(b'this is not HTTP at all\r\n\r\n')


@dataclass
class Upload:
    path: str
    headers: dict
    body: bytes
    status: int = None      # what the stand-in answered (None: no reply)

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def key(self):
        return self.headers.get(protocol.IDEMPOTENCY_HEADER.lower())

    @property
    def tracks(self):
        """[(name, track entry)] of the upload's Tracks, in order."""
        return [(name, entry)
                for name, entries in self.json.get(protocol.TRACKS,
                                                   {}).items()
                for entry in entries]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(length)
        upload = Upload(self.path, {k.lower(): v for k, v in
                                    self.headers.items()}, body)
        hq = self.server.hq
        behaviour = hq._next(upload)
        if isinstance(behaviour, Respond):
            upload.status = behaviour.status
        hq._record(upload)
        if isinstance(behaviour, Hang):
            hq.released.wait(120)
            self.close_connection = True
            return
        if isinstance(behaviour, Drip):
            try:
                self.wfile.write(behaviour.data[:behaviour.start])
                self.wfile.flush()
                behaviour.sent = behaviour.start
                for i in range(behaviour.start, len(behaviour.data)):
                    self.wfile.write(behaviour.data[i:i + 1])
                    self.wfile.flush()
                    behaviour.sent = i + 1
                    time.sleep(behaviour.interval)
            except OSError:
                pass        # the client hung up
            finally:
                behaviour.done.set()
            self.close_connection = True
            return
        if isinstance(behaviour, Raw):
            self.wfile.write(behaviour.data)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(behaviour.status)
        for name, value in behaviour.headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(behaviour.body)))
        self.end_headers()
        self.wfile.write(behaviour.body)
        self.close_connection = True


class HQStandIn:
    """See the module docstring. ``uploads`` holds every request,
    ``accepted`` those answered 2xx."""

    def __init__(self, ssl_context=None):
        self.uploads = []
        self._plan = collections.deque()
        self.rule = None
        self.default = Respond(200)
        self.released = threading.Event()
        self._cond = threading.Condition()
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                       _Handler)
        self._server.daemon_threads = True
        self._scheme = 'http'
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True)
            self._scheme = 'https'
        self._server.hq = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        args=(0.05,),
                                        name='hq stand-in', daemon=True)

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f'{self._scheme}://{host}:{port}'

    def start(self):
        self._thread.start()
        return self

    def then(self, *behaviours):
        with self._cond:
            self._plan.extend(behaviours)

    def _next(self, upload):
        with self._cond:
            if self._plan:
                return self._plan.popleft()
        if self.rule is not None:
            behaviour = self.rule(upload)
            if behaviour is not None:
                return behaviour
        return self.default

    def _record(self, upload):
        with self._cond:
            self.uploads.append(upload)
            self._cond.notify_all()

    def wait_for(self, count, timeout=30):
        """True once count uploads have arrived (False after timeout)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.uploads) >= count,
                                       timeout)

    @property
    def accepted(self):
        with self._cond:
            return [u for u in self.uploads
                    if u.status is not None and 200 <= u.status < 300]

    def accepted_tracks(self):
        """{name: [Count or State, ...]} of every track accepted, in
        upload order, duplicates (same Number) dropped as an HQ would."""
        seen = set()
        values = {}
        for upload in self.accepted:
            user = upload.json[protocol.USER]
            for name, entry in upload.tracks:
                if (user, entry[protocol.NUMBER]) in seen:
                    continue
                seen.add((user, entry[protocol.NUMBER]))
                values.setdefault(name, []).append(
                    entry.get('State', entry.get('Count')))
        return values

    def close(self):
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(30)
