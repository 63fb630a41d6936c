"""cybertools_tracking: record what users do and keep it in ZODB.

The storage layer is ``cybertools_tracking.btree`` (TrackingStorage, Track,
Run); ``cybertools_tracking.db`` opens databases; the usage tracker lives in
``cybertools_tracking.usage`` and its uploader in
``cybertools_tracking.upload``.
"""
