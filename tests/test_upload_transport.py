"""The HTTP transport against the HQ stand-in: every complete reply comes
back as a Reply, everything else is a TransportError."""

import threading

import pytest
from zope.interface.verify import verifyObject

from cybertools_tracking.upload.interfaces import IReply, ITransport
from cybertools_tracking.upload.transport import (
    HTTPTransport, Reply, TransportError, uploadURL)
from hq_standin import CUT_SHORT, GARBAGE, Hang, Raw, Respond

HEADERS = {'Content-Type': 'application/json', 'Idempotency-Key': 'k1'}


@pytest.mark.parametrize('host, url', [
    ('www.usagetrackerapp.com',
     'https://www.usagetrackerapp.com/usagestats/upload'),
    ('http://127.0.0.1:8080', 'http://127.0.0.1:8080/usagestats/upload'),
    ('https://example.com/hq/', 'https://example.com/hq/usagestats/upload'),
    ('  HTTPS://example.com  ', 'https://example.com/usagestats/upload'),
])
def test_upload_url(host, url):
    assert uploadURL(host) == url


@pytest.mark.parametrize('host, message', [
    ('', 'non-empty str'),
    (None, 'non-empty str'),
    (42, 'non-empty str'),
    ('ftp://example.com', 'scheme must be http or https'),
    ('http://', 'names no host'),
    ('example.com/x?a=1', 'query or fragment'),
    ('http://example.com:port', 'bad port'),
    ('exa mple.com', 'spaces'),
])
def test_bad_hosts_say_what_is_allowed(host, message):
    with pytest.raises(ValueError, match=message):
        uploadURL(host)


def test_interfaces():
    transport = HTTPTransport()
    assert verifyObject(ITransport, transport)
    assert verifyObject(IReply, Reply(200, {'x': 'y'}, 'ok'))


def test_any_status_is_a_reply_with_headers_and_text(hq):
    hq.then(Respond(503, {'Retry-After': '7'}, b'busy'))
    reply = HTTPTransport().post(uploadURL(hq.url), b'{"a": 1}', HEADERS, 5)
    assert reply.status == 503
    assert reply.header('retry-after') == '7'
    assert reply.text == 'busy'
    upload = hq.uploads[0]
    assert upload.path == '/usagestats/upload'
    assert upload.body == b'{"a": 1}'
    assert upload.key == 'k1'


def test_redirects_are_not_followed(hq):
    # A redirected POST becomes a GET without body in urllib; its 200
    # must not pass for an accepted upload.
    hq.then(Respond(302, {'Location': hq.url + '/elsewhere'}))
    reply = HTTPTransport().post(uploadURL(hq.url), b'{}', HEADERS, 5)
    assert reply.status == 302
    assert len(hq.uploads) == 1


@pytest.mark.parametrize('behaviour, message', [
    (GARBAGE, 'not HTTP'),
    (CUT_SHORT, 'cut short'),
    (Raw(b''), 'closed the connection without a reply'),
])
def test_incomplete_replies_are_errors(hq, behaviour, message):
    hq.then(behaviour)
    with pytest.raises(TransportError, match=message):
        HTTPTransport().post(uploadURL(hq.url), b'{}', HEADERS, 5)


def test_refused_connection(dead_url):
    with pytest.raises(TransportError, match='refused'):
        HTTPTransport().post(uploadURL(dead_url), b'{}', HEADERS, 5)


def test_slower_than_the_timeout(hq):
    hq.then(Hang())
    with pytest.raises(TransportError, match='timeout of 0.5 s'):
        HTTPTransport().post(uploadURL(hq.url), b'{}', HEADERS, 0.5)


def test_abort_cuts_off_a_request_in_flight(hq):
    hq.then(Hang())
    transport = HTTPTransport()
    outcome = []

    def post():
        try:
            transport.post(uploadURL(hq.url), b'{}', HEADERS, 600)
        except TransportError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=post)
    thread.start()
    assert hq.wait_for(1)
    transport.abort()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome and 'closing' in outcome[0]
    # and later requests are refused without touching the network
    with pytest.raises(TransportError, match='closing'):
        transport.post(uploadURL(hq.url), b'{}', HEADERS, 5)
    assert len(hq.uploads) == 1


@pytest.fixture
def tls_hq(tmp_path):
    """The stand-in behind TLS with a self-signed certificate for
    127.0.0.1; yields (hq, path of the certificate)."""
    import shutil
    import ssl
    import subprocess
    from hq_standin import HQStandIn
    if shutil.which('openssl') is None:
        pytest.skip('needs the openssl command to make a certificate')
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
         '-keyout', str(key), '-out', str(cert), '-days', '1',
         '-subj', '/CN=127.0.0.1',
         '-addext', 'subjectAltName=IP:127.0.0.1'],
        check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HQStandIn(ssl_context=context).start()
    yield server, cert
    server.close()


def test_https_verifies_the_certificate(tls_hq, monkeypatch):
    import ssl
    monkeypatch.setenv('no_proxy', '127.0.0.1')
    hq, cert = tls_hq
    assert hq.url.startswith('https://')
    trusting = HTTPTransport(ssl.create_default_context(cafile=str(cert)))
    reply = trusting.post(uploadURL(hq.url), b'{}', HEADERS, 5)
    assert reply.status == 200
    assert hq.uploads[0].key == 'k1'
    # the system's certificates do not vouch for a self-signed one
    with pytest.raises(TransportError, match='CERTIFICATE_VERIFY_FAILED'):
        HTTPTransport().post(uploadURL(hq.url), b'{}', HEADERS, 5)
