"""One POST to the HQ, with the standard library's urllib.

Why urllib and not requests, urllib3 or httpx: the uploader runs inside
other people's applications, so every dependency it has becomes theirs
(their installers, their version pins, their security updates). One small
JSON POST every so often needs none of what those libraries add (pooling,
sessions, HTTP/2); urllib brings what matters here: HTTPS with the system's
certificates, the ``https_proxy``/``no_proxy`` settings users already have,
and timeouts.

Two things urllib would do by default are switched off on purpose:

* redirects are not followed: urllib turns a redirected POST into a GET
  without a body, and a 200 for that GET would look like an accepted
  upload. A 3xx is a reply like any other and the policy decides.
* non-2xx replies are not exceptions: every reply comes back as a
  ``Reply`` so the policy sees its status, headers and text.

A reply that is not HTTP, is cut short, or does not come within the
timeout is a ``TransportError``: nothing was confirmed, so nothing counts
as sent.

The timeout is a deadline for the whole exchange (connecting, sending,
the status line, headers and body), not a limit per socket read: an HQ
that drips a byte a second would otherwise hold the uploader for as long
as it likes. When the deadline passes, the request's sockets are shut
down, which ends any read or write blocked on them.
"""

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from zope.interface import implementer

from cybertools_tracking.protocol import UPLOAD_PATH
from cybertools_tracking.upload.interfaces import IReply, ITransport
# Only the start of a reply is kept (for the log); an HQ has no reason to
# send more.
MAX_REPLY_BYTES = 64 * 1024
_CHUNK = 16 * 1024


class TransportError(Exception):
    """The request got no complete HTTP reply: connection refused or
    reset, timeout, a reply that is not HTTP or is cut short."""


@implementer(IReply)
@dataclass(frozen=True)
class Reply:
    """See IReply."""

    status: int
    headers: dict = field(default_factory=dict)
    text: str = ''

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)


def uploadURL(host):
    """The upload URL for an HQ host: ``www.example.com`` means
    ``https://www.example.com/usagestats/upload``; ``http://127.0.0.1:8080``
    and ``https://example.com/hq`` (a path prefix) work as written.

    A host that is not a non-empty str, has a scheme other than http or
    https, no host name, or carries a query or fragment is a ValueError.
    """
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f'HQ host must be a non-empty str such as '
                         f"'www.example.com' or 'http://127.0.0.1:8080', "
                         f'not {host!r}')
    text = host.strip()
    if any(ch.isspace() for ch in text):
        raise ValueError(f'HQ host must not contain spaces: {host!r}')
    if '://' not in text:
        text = 'https://' + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() not in ('http', 'https'):
        raise ValueError(f'HQ host {host!r}: scheme must be http or https '
                         f'(none means https), not {parts.scheme!r}')
    if not parts.hostname:
        raise ValueError(f'HQ host {host!r} names no host; give e.g. '
                         f"'www.example.com'")
    if parts.query or parts.fragment:
        raise ValueError(f'HQ host {host!r} must not carry a query or '
                         f'fragment; give the scheme, host, port and an '
                         f'optional path prefix')
    try:
        parts.port
    except ValueError:
        raise ValueError(f'HQ host {host!r} has a bad port') from None
    path = parts.path.rstrip('/') + UPLOAD_PATH
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), parts.netloc, path, '', ''))


class _Sockets:
    """The sockets of the requests in flight, so ``abort`` can cut them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open = {}     # socket -> the thread that opened it
        self._expired = set()   # threads whose request is past its deadline
        self.aborted = False

    def add(self, sock):
        with self._lock:
            if self.aborted:
                raise TransportError('the uploader is closing')
            if threading.get_ident() in self._expired:
                # The deadline passed while connecting.
                raise TransportError('the deadline passed')
            self._open[sock] = threading.get_ident()

    def forgetMine(self):
        me = threading.get_ident()
        with self._lock:
            self._expired.discard(me)
            for sock in [s for s, owner in self._open.items()
                         if owner == me]:
                del self._open[sock]

    def abort(self):
        with self._lock:
            self.aborted = True
            sockets = list(self._open)
        _shutdown(sockets)

    def cut(self, owner):
        """Shut down the sockets the thread owner opened (its deadline
        passed)."""
        with self._lock:
            self._expired.add(owner)
            sockets = [s for s, o in self._open.items() if o == owner]
        _shutdown(sockets)


def _shutdown(sockets):
    for sock in sockets:
        try:
            # shutdown, not close: it wakes a thread blocked in recv.
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _connectionClasses(sockets):
    def connect(conn, base):
        base.connect(conn)
        sockets.add(conn.sock)
        # http.client writes the headers and the body separately; with
        # Nagle's algorithm the body would wait for the server to
        # acknowledge the headers (a delayed ACK: tens of milliseconds).
        try:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    class HTTPConnection(http.client.HTTPConnection):
        def connect(self):
            connect(self, http.client.HTTPConnection)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            connect(self, http.client.HTTPSConnection)

    return HTTPConnection, HTTPSConnection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connectionClass):
        super().__init__()
        self._connectionClass = connectionClass

    def http_open(self, req):
        return self.do_open(self._connectionClass, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connectionClass, context):
        super().__init__(context=context)
        self._connectionClass = connectionClass
        self._sslContext = context

    def https_open(self, req):
        return self.do_open(self._connectionClass, req,
                            context=self._sslContext)


@implementer(ITransport)
class HTTPTransport:
    """See ITransport."""

    def __init__(self, sslContext=None):
        self._sockets = _Sockets()
        httpClass, httpsClass = _connectionClasses(self._sockets)
        self._opener = urllib.request.OpenerDirector()
        # ProxyHandler() reads http(s)_proxy and honours no_proxy, like
        # every other tool on the user's machine.
        for handler in (urllib.request.ProxyHandler(),
                        _HTTPHandler(httpClass),
                        _HTTPSHandler(httpsClass, sslContext
                                      or ssl.create_default_context())):
            self._opener.add_handler(handler)

    def post(self, url, body, headers, timeout):
        if self._sockets.aborted:
            raise TransportError('the uploader is closing')
        request = urllib.request.Request(url, data=body, headers=headers,
                                         method='POST')
        deadline = time.monotonic() + timeout
        expired = threading.Event()

        def cut():
            expired.set()
            self._sockets.cut(owner)

        owner = threading.get_ident()
        timer = threading.Timer(timeout, cut)
        timer.daemon = True
        timer.start()
        try:
            with self._opener.open(request, timeout=timeout) as response:
                text = self._readBody(response, deadline, timeout)
                headers = {name.lower(): value
                           for name, value in response.headers.items()}
                if expired.is_set():
                    raise TransportError(self._late(timeout))
                return Reply(response.status, headers, text)
        except TransportError:
            if expired.is_set():
                raise TransportError(self._late(timeout)) from None
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self._sockets.aborted:
                raise TransportError('cut off: the uploader is closing') \
                    from exc
            if expired.is_set():
                raise TransportError(self._late(timeout)) from exc
            raise TransportError(_describe(exc, timeout)) from exc
        finally:
            timer.cancel()
            timer.join()    # a cut in progress ends before we forget
            self._sockets.forgetMine()

    @staticmethod
    def _late(timeout):
        return f'no complete reply within the timeout of {timeout:g} s'

    def abort(self):
        self._sockets.abort()

    @staticmethod
    def _readBody(response, deadline, timeout):
        kept = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise TransportError(HTTPTransport._late(timeout))
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            if size < MAX_REPLY_BYTES:
                kept.append(chunk[:MAX_REPLY_BYTES - size])
            size += len(chunk)
        # read(n) returns b'' when the server hangs up early instead of
        # raising; what Content-Length promised and did not come is left.
        if response.length:
            raise TransportError(f'reply cut short: {response.length} of '
                                 f'{size + response.length} bytes missing')
        return b''.join(kept).decode('utf-8', 'replace')


def _describe(exc, timeout):
    reason = getattr(exc, 'reason', None)  # URLError wraps the real cause
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f'no reply within the timeout of {timeout:g} s'
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(exc, http.client.RemoteDisconnected):
        return 'the server closed the connection without a reply'
    if isinstance(exc, http.client.IncompleteRead):
        return 'reply cut short'
    if isinstance(exc, http.client.BadStatusLine):
        return f'the reply is not HTTP ({exc!r})'
    if isinstance(exc, http.client.HTTPException):
        return f'bad HTTP reply ({type(exc).__name__}: {exc})'
    return f'{type(exc).__name__}: {exc}'
