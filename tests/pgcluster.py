"""A throw-away PostgreSQL cluster for tests and benchmarks.

``TempCluster`` runs Debian's server binaries (``initdb``, ``pg_ctl``
from /usr/lib/postgresql/NN/bin, or ``PG_BIN``) on a temporary data
directory and a free port on 127.0.0.1, as the ``postgres`` user when
this process is root (the server refuses to run as root), and removes
everything when stopped. ``python tests/pgcluster.py`` starts one and
prints its URI until interrupted (for the benchmarks; that one syncs to
disk as a production server does, the tests' does not).
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from servers import freePort

SERVER_USER = 'postgres'


class ClusterUnavailable(Exception):
    """The server binaries are missing; the message says how to get them."""


class ClusterFailed(Exception):
    """initdb or the server failed; the message has what they said."""


def findBinaries():
    """The folder holding initdb and pg_ctl; ClusterUnavailable if none."""
    candidates = [os.environ['PG_BIN']] if os.environ.get('PG_BIN') else []
    candidates += sorted(glob.glob('/usr/lib/postgresql/*/bin'),
                         key=lambda p: int(p.split('/')[-2]), reverse=True)
    for folder in candidates:
        if all(os.access(os.path.join(folder, name), os.X_OK)
               for name in ('initdb', 'pg_ctl')):
            return folder
    raise ClusterUnavailable(
        'PostgreSQL server binaries not found (no initdb/pg_ctl in '
        '/usr/lib/postgresql/*/bin or $PG_BIN); install them with '
        "'apt-get install postgresql' or set PG_BIN")


class TempCluster:
    """One PostgreSQL server on 127.0.0.1:port with trust authentication
    for the ``postgres`` role; ``createDatabase(name)`` makes a database
    and returns its ``postgresql://`` URI."""

    def __init__(self, durable=False):
        # Tests need no crash safety; benchmarks measure with it (fsync).
        self.durable = durable
        self.bin = findBinaries()
        self.port = None
        self.dir = None
        self._user = None

    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self.dir = tempfile.mkdtemp(prefix='tracking-pg-')
        data = os.path.join(self.dir, 'data')
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise ClusterUnavailable(
                    f'running as root and there is no {SERVER_USER!r} user '
                    f'to run the server as') from None
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)
        self._run([os.path.join(self.bin, 'initdb'), '-D', data,
                   '-U', SERVER_USER, '-A', 'trust', '-E', 'UTF8',
                   '--no-sync', '--no-instructions'])
        # Ports are taken in a race with other processes: try a few.
        for _ in range(5):
            self.port = freePort()
            options = (f'-h 127.0.0.1 -p {self.port} -k {self.dir} '
                       f'-c max_connections=200')
            if not self.durable:
                options += ' -c fsync=off -c full_page_writes=off'
            try:
                self._run([os.path.join(self.bin, 'pg_ctl'), '-D', data,
                           '-l', os.path.join(self.dir, 'server.log'),
                           '-o', options, '-w', '-t', '60', 'start'])
                break
            except ClusterFailed:
                continue
        else:
            raise ClusterFailed(f'PostgreSQL did not start: {self.log()}')
        return self

    def _run(self, argv):
        kw = {}
        if self._user is not None:
            uid, gid = self._user.pw_uid, self._user.pw_gid
            kw['user'], kw['group'], kw['extra_groups'] = uid, gid, []
        done = subprocess.run(argv, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=self.dir,
                              env=dict(os.environ, LC_ALL='C.UTF-8'), **kw)
        if done.returncode:
            raise ClusterFailed(f'{os.path.basename(argv[0])} exited with '
                                f'{done.returncode}: {done.stderr.strip()}')

    def log(self):
        try:
            with open(os.path.join(self.dir, 'server.log')) as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def dsn(self, dbname='postgres'):
        return dict(host='127.0.0.1', port=self.port, user=SERVER_USER,
                    dbname=dbname)

    def uri(self, dbname, **params):
        query = '&'.join(f'{k}={v}' for k, v in params.items())
        return (f'postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{dbname}'
                + (f'?{query}' if query else ''))

    def createDatabase(self, name, **params):
        import psycopg2
        from psycopg2 import sql
        conn = psycopg2.connect(**self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL('CREATE DATABASE {}').format(
                    sql.Identifier(name)))
        finally:
            conn.close()
        return self.uri(name, **params)

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, 'data')
        if self.port is not None and os.path.exists(
                os.path.join(data, 'postmaster.pid')):
            self._run([os.path.join(self.bin, 'pg_ctl'), '-D', data,
                       '-m', 'immediate', '-w', 'stop'])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _stop(signum, frame):
    raise KeyboardInterrupt


if __name__ == '__main__':
    # Stopped by Ctrl-C or kill (TERM): either way the cluster goes.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with TempCluster(durable=True) as cluster:
        names = sys.argv[1:] or ['bench']
        for name in names:
            print(cluster.createDatabase(name), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
