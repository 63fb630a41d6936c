"""The tracker's HQ methods, as a mixin AnonymousUsageTracker inherits.

The tracker works fully without them: until ``setup_hq`` is called there
is no uploader, no thread and no network access.
"""

import logging

from zope.interface import implementer

from cybertools_tracking.upload.interfaces import IHQClient
from cybertools_tracking.upload.uploader import (
    HQ_DEFAULT_TIMEOUT, Uploader, checkSettings)

logger = logging.getLogger('cybertools_tracking.upload')


@implementer(IHQClient)
class UploadMixin:
    """See IHQClient. The class using it provides what the usage contract
    names (db, uuid, run_id, application_name, application_version,
    enabled, flush(), registry(), check_interval_s, submit_interval_s) and
    calls ``self._uploader.close()`` in its close()."""

    HQ_DEFAULT_TIMEOUT = HQ_DEFAULT_TIMEOUT
    _uploader = None

    @property
    def uploader(self):
        return self._uploader

    def setup_hq(self, host, api_key):
        if getattr(self, '_closed', False):
            # Imported here: the usage layer imports this module.
            from cybertools_tracking.usage.exceptions import (
                TrackerClosedError)
            raise TrackerClosedError('the tracker is closed; open a new one '
                                     'to upload')
        uploader = self._uploader
        if uploader is None:
            uploader = Uploader(self, host, api_key)
            self._uploader = uploader
        else:
            uploader.configure(host, api_key)
        uploader.startWatcher()

    # The tracker calls this before it opens its database (and
    # load_from_configuration before that), so bad settings fail without
    # leaving a file open or a thread running: (host, api_key) -> (url,
    # api_key), ValueError saying what is allowed.
    _checkHQ = staticmethod(checkSettings)

    def submit_statistics(self):
        uploader = self._uploader
        if uploader is None:
            logger.debug('not uploading: no HQ is set up (setup_hq)')
            return False
        return uploader.submit()
