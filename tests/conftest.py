"""Fixtures shared by the tests: the HQ stand-in (``hq``), a refused port
(``dead_url``) and real trackers on FileStorage (``open_tracker``), defined
in upload_fixtures.py."""

from upload_fixtures import dead_url, hq, open_tracker  # noqa: F401 (fixtures)
from hq_fixtures import hqapp  # noqa: F401,E402 (fixture)
