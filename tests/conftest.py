"""Fixtures shared by the tests: the HQ stand-in (``hq``), a refused port
(``dead_url``) and real trackers on FileStorage (``open_tracker``), defined
in upload_fixtures.py; a throw-away PostgreSQL server and databases on
every engine (``pg_cluster``, ``dbspec``, ``pgspec``), in pg_fixtures.py."""

from upload_fixtures import dead_url, hq, open_tracker  # noqa: F401 (fixtures)
from storage_fixtures import db, stateStorage, storage  # noqa: F401 (fixtures)
from pg_fixtures import (  # noqa: F401 (fixtures)
    dbspec, new_pg_database, pg_cluster, pgspec)
from hq_fixtures import hqapp  # noqa: F401 (fixture)
