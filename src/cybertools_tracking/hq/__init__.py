"""The HQ: a Pyramid application that receives the trackers' uploads.

It is the worked example of a TrackingStorage inside a Pyramid app
(``cybertools_tracking.pyramid``): each request works in its own
transaction, committed when the view returns and retried on conflicts.

How an upload maps onto the storage, and why
---------------------------------------------

* **Group**: every key belongs to a group (a customer, a team). A group's
  data lives in a subtree of its own: no query, key or count can cross
  from one group into another, and a group can be dropped whole.
* **Application**: a subtree per (group, application) holding its users,
  versions, trackables and the read model.
* **User identifier**: each user's tracks go into a TrackingStorage of
  the user's own, with ``userName`` = the user identifier, so the HQ's
  copy of a user looks like the client's own database. Why not one
  storage per application: an upload of 500 tracks splits buckets of the
  track tree and the user-track table, a split rewrites the parent node,
  and concurrent splits cannot be merged; with one storage for all users,
  uploads arriving together conflicted again and again. Per user, only
  two uploads of the same user can meet there.
* **Trackable** -> ``taskId``, so a user's history of a trackable is the
  storage's task query.
* **Tracks**: each entry becomes one track with ``timeStamp`` = its
  ``Time`` and data = its fields (``Count``/``State`` and the rest) plus
  the client's ``Number`` and ``Run`` and the upload's ``Version``.
  Client run ids are numbers in each client's own database, so they
  collide across users; they are kept in the data, and ``runId`` is the
  HQ storage's run of the trackable (one per task), so an upload never
  writes the storage's run registry beyond moving a run's end, which
  merges.
* **Data** without ``Tracks`` (an original AnonymousUsage client, or a
  trackable only ``Data`` names): its value becomes one track, stamped
  with the time of the upload.
* **Duplicates**: the client's ``Number`` is unique per user identifier;
  the HQ keeps, per user, the set of Numbers stored and skips a track it
  already has. An ``Idempotency-Key`` the HQ has recorded for that user
  stores nothing and gets the first reply again.
* **What the pages show** is kept as uploads arrive, in the same
  transaction (see ``model``): each user's latest value per trackable,
  per-day totals per trackable and version, users per state, users per
  application. Shared figures are ``Length`` counters, whose conflicts
  resolve by adding, so concurrent uploads of different users, also in
  two HQ processes on one ZEO server, do not conflict over them.

People log in to the dashboard (``dashboard``: charts of their group's
applications) with accounts made by ``cybertools-tracking hq add-user``.

Run it with ``cybertools-tracking hq serve --db DB`` (waitress) or
``pserve hq.ini`` (the ``main`` entry point below); make keys with
``cybertools-tracking hq add-key``.
"""

import transaction
from pyramid.config import Configurator

from cybertools_tracking.hq import accounts
from cybertools_tracking.hq.model import hqRoot

# The first uploads of a new application, version, trackable or day insert
# the same keys into shared trees, and shared trees split: when many
# clients upload at once a request may conflict a few times in a row.
DEFAULT_ATTEMPTS = 10


def makeApp(settings):
    """The HQ's WSGI application for settings (``tracking.uri`` at least,
    see cybertools_tracking.pyramid)."""
    settings = dict(settings)
    settings.setdefault('retry.attempts', DEFAULT_ATTEMPTS)
    config = Configurator(settings=settings)
    config.include('cybertools_tracking.pyramid')
    secret = ensureHQ(config.registry.tracking_db)
    config.registry.settings.setdefault('hq.secret', secret)
    config.include('cybertools_tracking.hq.views')
    config.include('cybertools_tracking.hq.dashboard')
    return config.make_wsgi_app()


def main(global_config, **settings):
    """The PasteDeploy app factory (``use = egg:cybertools_tracking#hq``)."""
    return makeApp(settings)


def ensureHQ(db):
    """Create the HQ's root entry at startup, on a connection of its own;
    return the secret that signs the dashboard's session cookies (made
    at the first start, kept in the database)."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(5):
            with attempt:
                hq = hqRoot(conn, create=True)
                accounts.ensureAccounts(hq)
                secret = accounts.sessionSecret(hq)
        return secret
    finally:
        tm.abort()
        conn.close()
