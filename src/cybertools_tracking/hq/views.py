"""The HQ's HTTP endpoints: the upload and the read API.

Every reply is JSON; an error is ``{"error": message}``. Keys never appear
in a reply or a log line.
"""

import logging

from pyramid.response import Response

from cybertools_tracking import protocol
from cybertools_tracking.protocol import Reply
from cybertools_tracking.hq import keys, model
from cybertools_tracking.hq.validate import (
    BadUpload, apiKeyOf, checkUpload, isoDay, parseBody)

logger = logging.getLogger('cybertools_tracking.hq')


def _error(status, message, **headers):
    """A JSON error reply; status: a protocol.Reply or an int."""
    if isinstance(status, Reply):
        status = status.value
    response = Response(json_body={'error': message}, status=status,
                        charset='utf-8')
    response.headers.update(headers)
    return response


def _hq(request):
    return model.hqRoot(request.tracking_connection)


def upload(request):
    if request.method != 'POST':
        return _error(Reply.NOT_ALLOWED,
                      f'{protocol.UPLOAD_PATH} takes POST only',
                      Allow='POST')
    limit = protocol.MAX_BODY_BYTES
    tooLarge = (f'the body is larger than {limit} bytes; send fewer tracks '
                f'at a time')
    if request.content_length is not None and request.content_length > limit:
        return _error(Reply.TOO_LARGE, tooLarge)
    # From the start every time: pyramid_retry runs a request that
    # conflicted again, on the same (seekable) input.
    request.make_body_seekable()
    request.body_file_raw.seek(0)
    raw = request.body_file_raw.read(limit + 1)
    if len(raw) > limit:
        return _error(Reply.TOO_LARGE, tooLarge)
    try:
        body = parseBody(raw)
    except BadUpload as exc:
        return _error(Reply.BAD_REQUEST, str(exc))
    hq = _hq(request)
    found = keys.findKey(hq, apiKeyOf(body))
    if found is None or found[1]['kind'] != keys.UPLOAD:
        return _error(Reply.FORBIDDEN, 'the API Key is missing, unknown, '
                                       'revoked or not an upload key')
    keyId, info = found
    try:
        checked = checkUpload(body)
    except BadUpload as exc:
        return _error(Reply.BAD_REQUEST, str(exc))
    idempotencyKey = request.headers.get(protocol.IDEMPOTENCY_HEADER) or None
    if idempotencyKey is not None and len(idempotencyKey) > 200:
        return _error(Reply.BAD_REQUEST, f'{protocol.IDEMPOTENCY_HEADER} is '
                                         f'longer than 200 characters')
    reply = model.record(hq, info['group'], checked, idempotencyKey)
    keys.touch(hq, keyId)
    return Response(json_body=reply, charset='utf-8')


# the read API

def _reader(request):
    """(hq, group) for a request with a read key; None otherwise."""
    header = request.headers.get('Authorization', '')
    scheme, _, key = header.partition(' ')
    if scheme.lower() != 'bearer':
        return None
    hq = _hq(request)
    found = keys.findKey(hq, key.strip())
    if found is None or found[1]['kind'] != keys.READ:
        return None
    keys.touch(hq, found[0])
    return hq, found[1]['group']


_FORBIDDEN = ('send Authorization: Bearer KEY with a read key of the group '
              '(an upload key cannot read)')


def _day(request, name):
    try:
        return isoDay(request.params.get(name), name)
    except ValueError as exc:
        raise BadUpload(str(exc)) from None


def readView(work):
    def view(request):
        reader = _reader(request)
        if reader is None:
            return _error(403, _FORBIDDEN)
        try:
            # jsonable: a total that grew past a float is "inf", never a
            # bare Infinity that JSON parsers refuse.
            return Response(json_body=protocol.jsonable(
                work(request, *reader)), charset='utf-8')
        except model.NotFound as exc:
            return _error(404, exc.args[0])
        except BadUpload as exc:
            return _error(Reply.BAD_REQUEST, str(exc))
    return view


@readView
def applicationsView(request, hq, group):
    return {'applications': model.applications(hq, group)}


@readView
def trackablesView(request, hq, group):
    return {'trackables': model.trackables(
        hq, group, request.matchdict['app'])}


@readView
def trackableView(request, hq, group):
    version = request.params.get('version') or None
    return model.trackable(hq, group, request.matchdict['app'],
                           request.matchdict['name'], version=version,
                           start=_day(request, 'from'),
                           end=_day(request, 'to'))


@readView
def historyView(request, hq, group):
    user = request.params.get('user')
    if not user:
        raise BadUpload('give the user identifier: ?user=ID')
    return {'history': model.history(hq, group, request.matchdict['app'],
                                     request.matchdict['name'], user)}


def includeme(config):
    config.add_route('upload', protocol.UPLOAD_PATH)
    config.add_route('applications', '/api/applications')
    config.add_route('trackables', '/api/applications/{app}/trackables')
    # A trackable's name may hold '/' (it is any text): history is tried
    # first, and both take the rest of the path as the name.
    config.add_route('history',
                     '/api/applications/{app}/trackables/{name:.+}/history')
    config.add_route('trackable',
                     '/api/applications/{app}/trackables/{name:.+}')
    config.add_view(upload, route_name='upload')
    for route, view in (('applications', applicationsView),
                        ('trackables', trackablesView),
                        ('trackable', trackableView),
                        ('history', historyView)):
        config.add_view(view, route_name=route, request_method='GET')
