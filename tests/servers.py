"""Servers the tests start on 127.0.0.1: a free port, waiting for a
process to listen on it, and a ``runzeo`` server of its own process."""

import contextlib
import pathlib
import socket
import subprocess
import sys
import time

RUNZEO_CONF = """\
<zeo>
  address 127.0.0.1:{port}
</zeo>
<filestorage>
  path {path}
</filestorage>
"""


def freePort():
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def waitForPort(port, process, what, timeout=60):
    """Return once something listens on port; RuntimeError naming what
    when process exits first or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'{what} exited with {process.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f'{what} did not listen on port {port} in '
                       f'{timeout} s')


@contextlib.contextmanager
def zeoServer(directory, name='tracking.fs', stderr=subprocess.PIPE):
    """A runzeo process serving directory/name (its config beside it);
    yields its zeo:// URI and stops it afterwards. The benchmarks use it
    too."""
    directory = pathlib.Path(directory)
    port = freePort()
    conf = directory / (pathlib.Path(name).stem + '.conf')
    conf.write_text(RUNZEO_CONF.format(port=port, path=directory / name))
    server = subprocess.Popen(
        [sys.executable, '-m', 'ZEO.runzeo', '-C', str(conf)],
        stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    try:
        waitForPort(port, server, 'runzeo')
        yield f'zeo://127.0.0.1:{port}'
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()
