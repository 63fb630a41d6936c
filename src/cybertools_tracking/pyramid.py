"""A TrackingStorage in a Pyramid application.

::

    config.include('cybertools_tracking.pyramid')

Settings (under the ``tracking.`` prefix, as Pyramid add-ons do):

* ``tracking.uri``: the database, a file path or any URI ``db.openDB``
  takes (``memory://``, ``file:///...``, ``zeo://host:port``). Without it
  the database of pyramid_zodbconn (``zodbconn.uri``) is used, when the
  application configures that add-on.
* ``tracking.root_key``: the root key of the storage (default
  ``tracking``).
* ``tracking.retry_backoff``: seconds; before the n-th retry of a
  conflicting request a random wait of up to this times 2**n (default
  0.01), so requests that collided do not collide again at once.

Each request then has ``request.tracking``, the TrackingStorage, on a
connection bound to the request's transaction (``request.tm``): what a
view saves is committed when it returns, aborted when it raises, and the
whole request is run again on a ConflictError (``retry.attempts``, 3
unless set). The include brings pyramid_tm and pyramid_retry itself, and
uses an explicit transaction manager per request (``tm.manager_hook``)
unless the application chose another.

The storage is created once, at startup, on a connection of its own
(``db.ensureStorage``); nothing inside a request commits but pyramid_tm.
``request.tracking_connection`` is the request's ZODB connection, for
applications (such as the HQ) that keep more than the storage.
"""

import random
import time

from pyramid.exceptions import ConfigurationError
from pyramid_retry import BeforeRetry

from cybertools_tracking.db import (
    DEFAULT_KEY, DatabaseError, ensureStorage, getStorage, openDB)

URI = 'tracking.uri'
ROOT_KEY = 'tracking.root_key'
BACKOFF = 'tracking.retry_backoff'
DEFAULT_BACKOFF_S = 0.01


def includeme(config):
    settings = config.get_settings()
    settings.setdefault('tm.manager_hook', 'pyramid_tm.explicit_manager')
    settings.setdefault('retry.attempts', 3)
    config.include('pyramid_tm')
    config.include('pyramid_retry')
    key = settings.get(ROOT_KEY) or DEFAULT_KEY
    settings[ROOT_KEY] = key
    uri = settings.get(URI)
    registry = config.registry
    if uri:
        try:
            db = openDB(uri)
        except DatabaseError as exc:
            raise ConfigurationError(f'{URI}: {exc}') from None
        registry.tracking_db = db
        registry.tracking_db_shared = False
    else:
        databases = getattr(registry, '_zodb_databases', None)
        if not databases or '' not in databases:
            raise ConfigurationError(
                f'set {URI} (a file path or a URI such as zeo://host:port), '
                f'or include pyramid_zodbconn with zodbconn.uri first')
        db = databases['']
        registry.tracking_db = db
        registry.tracking_db_shared = True      # pyramid_zodbconn owns it
    ensureStorage(db, key)
    try:
        backoff = float(settings.get(BACKOFF, DEFAULT_BACKOFF_S))
    except ValueError:
        backoff = -1
    if not 0 <= backoff <= 10:
        raise ConfigurationError(f'{BACKOFF} must be seconds from 0 to 10, '
                                 f'not {settings.get(BACKOFF)!r}')
    settings[BACKOFF] = backoff
    config.add_subscriber(_pause, BeforeRetry)
    config.add_request_method(trackingConnection, 'tracking_connection',
                              reify=True)
    config.add_request_method(tracking, 'tracking', reify=True)


def _pause(event):
    backoff = event.request.registry.settings[BACKOFF]
    attempt = event.environ.get('retry.attempt', 0)
    if backoff:
        time.sleep(random.uniform(0, backoff * 2 ** min(attempt, 8)))


def trackingConnection(request):
    """The request's ZODB connection: pyramid_zodbconn's when the storage
    lives in its database, else one opened on request.tm and closed when
    the request is finished."""
    registry = request.registry
    if registry.tracking_db_shared:
        from pyramid_zodbconn import get_connection
        return get_connection(request)
    conn = registry.tracking_db.open(transaction_manager=request.tm)

    def close(request):
        conn.close()

    request.add_finished_callback(close)
    return conn


def tracking(request):
    """The TrackingStorage under ``tracking.root_key``, in the request's
    transaction."""
    key = request.registry.settings[ROOT_KEY]
    return getStorage(request.tracking_connection, key, create=False)


def closeDatabase(registry):
    """Close the database the include opened (for tests and shutdown);
    one that pyramid_zodbconn opened is left to it."""
    db = getattr(registry, 'tracking_db', None)
    if db is not None and not registry.tracking_db_shared:
        db.close()
        registry.tracking_db = None
