"""Real processes for the HQ tests: ``cybertools-tracking hq serve`` and a
``runzeo`` server, each on 127.0.0.1 and stopped afterwards."""

import os
import signal
import subprocess
import sys

from servers import freePort, waitForPort


def cli(*args):
    """Run cybertools-tracking with args; return (exit code, stdout,
    stderr)."""
    done = subprocess.run([sys.executable, '-m', 'cybertools_tracking',
                           *map(str, args)], capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr


def addKey(db, group, read=False):
    code, out, err = cli('hq', 'add-key', '--db', db, '--group', group,
                         *(['--read'] if read else []))
    assert code == 0, err
    return out.strip().splitlines()[-1]


class HQProcess:
    """``hq serve --db DB`` on a free port; start(), kill(), stop()."""

    def __init__(self, db, port=None, logDir=None):
        self.logDir = logDir
        self.db = str(db)
        self.port = port or freePort()
        self.url = f'http://127.0.0.1:{self.port}'
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools_tracking', 'hq', 'serve',
             '--db', self.db, '--port', str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self._log(), text=True,
            env=dict(os.environ, PYTHONUNBUFFERED='1'))
        waitForPort(self.port, self.process, 'hq serve')
        return self

    def _log(self):
        self.logPath = f'/tmp/hq-{self.port}.log' if self.logDir is None \
            else os.path.join(self.logDir, f'hq-{self.port}.log')
        return open(self.logPath, 'a')

    @property
    def log(self):
        """What the HQ process wrote to stderr (tracebacks, if any)."""
        with open(self.logPath) as f:
            return f.read()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
