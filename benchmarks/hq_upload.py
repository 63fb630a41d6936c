"""What the HQ adds on top of the storage: uploads of 500 tracks per request
against ``cybertools-tracking hq serve``, side by side with saving the same
tracks straight into a TrackingStorage in one process.

    python benchmarks/hq_upload.py [--requests N] [--clients C] [--repeat R]

Runs, each on a fresh database in a temporary folder:

* storage, direct: per request body, its tracks saved with saveUserTrack
  and committed in one transaction, into one TrackingStorage, and into a
  TrackingStorage per user as the HQ keeps them (the HQ's storage work
  without HTTP, JSON, validation, keys or aggregates), on a FileStorage
  and through ZEO;
* hq serve, one process on a FileStorage: C client threads POSTing the
  bodies (keep-alive connections);
* hq serve, two processes on one ZEO server: the same clients spread over
  both.

Prints tracks stored per second and replies per second of each, and the
ratio of the HQ's cost per track to the direct one (HTTP, validation and
aggregates together: the ratio minus one). Every run checks that each
track was stored once.

Not a test: numbers depend on the machine and its load.
"""

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import transaction

# The servers the tests start, started the same way here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, 'tests'))
from servers import freePort, waitForPort, zeoServer  # noqa: E402

from cybertools_tracking import protocol
from cybertools_tracking.btree import TrackingStorage
from cybertools_tracking.db import ensureStorage, openDB

TRACKS_PER_REQUEST = 500
# Where the servers' own messages go (tracebacks, if any): stderr with
# HQ_BENCH_LOG=1, else nowhere.
LOG = None if os.environ.get('HQ_BENCH_LOG') else subprocess.DEVNULL
DAY = 1_764_547_200


def bodies(requests, key):
    """requests upload bodies of TRACKS_PER_REQUEST tracks each: a user per
    request, three trackables (two numbers, one state)."""
    result = []
    for n in range(requests):
        tracks = {'clicks': [], 'uptime': [], 'mode': []}
        for i in range(TRACKS_PER_REQUEST):
            number = i + 1
            time_ = DAY + n * 600 + i
            if i % 3 == 0:
                tracks['clicks'].append({'Number': number, 'Run': 1,
                                         'Time': time_, 'Count': i // 3})
            elif i % 3 == 1:
                tracks['uptime'].append({'Number': number, 'Run': 1,
                                         'Time': time_, 'Count': i * 1.5})
            else:
                tracks['mode'].append({'Number': number, 'Run': 1,
                                       'Time': time_, 'Count': i // 3,
                                       'State': ('light', 'dark')[i % 2]})
        data = {name: {'type': kind, 'description': name,
                       'data': entries[-1].get('State',
                                               entries[-1]['Count'])}
                for (name, entries), kind in zip(
                    tracks.items(), ('Statistic', 'Timer', 'State'))}
        result.append({protocol.API_KEY: key, protocol.USER: f'user-{n}',
                       protocol.APPLICATION: 'Bench',
                       protocol.VERSION: '1.0', protocol.DATA: data,
                       protocol.TRACKS: tracks})
    return result


def direct(spec, uploads, perUser=False):
    """Seconds to save the uploads' tracks straight into one
    TrackingStorage, or (perUser) into a TrackingStorage per user as the
    HQ lays them out, a commit per upload."""
    db = openDB(spec)
    try:
        ensureStorage(db)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = shared = conn.root()['tracking']
        users = {}
        started = time.perf_counter()
        for body in uploads:
            # The same decoding a request gets, so both sides start from
            # bytes.
            body = json.loads(json.dumps(body))
            with tm:
                if perUser:
                    storage = users[body[protocol.USER]] = TrackingStorage()
                    conn.root()[body[protocol.USER]] = storage
                for name, entries in body[protocol.TRACKS].items():
                    for entry in entries:
                        storage.saveUserTrack(
                            name, 0, body[protocol.USER], entry,
                            timeStamp=entry['Time'])
        elapsed = time.perf_counter() - started
        tm.begin()
        saved = sum(map(len, users.values())) if perUser else len(shared)
        assert saved == len(uploads) * TRACKS_PER_REQUEST, saved
        conn.close()
        return elapsed
    finally:
        db.close()


def cli(*args):
    done = subprocess.run([sys.executable, '-m', 'cybertools_tracking',
                           *map(str, args)], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def running(args, port):
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                               stderr=LOG)
    try:
        waitForPort(port, process, ' '.join(map(str, args[1:4])))
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def hqServe(db, port):
    return running([sys.executable, '-m', 'cybertools_tracking', 'hq',
                    'serve', '--db', str(db), '--port', str(port)], port)


def post(ports, uploads, clients):
    """POST every body from clients threads, thread n to ports[n % len];
    return (seconds, replies)."""
    raws = [json.dumps(body).encode() for body in uploads]
    statuses = []
    stored = []
    lock = threading.Lock()

    def client(n):
        conn = http.client.HTTPConnection('127.0.0.1', ports[n % len(ports)],
                                          timeout=300)
        conn.connect()
        # http.client sends the headers and the body in two writes; with
        # Nagle's algorithm the body waits for the server's delayed ACK.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for raw in raws[n::clients]:
            conn.request('POST', protocol.UPLOAD_PATH, raw,
                         {'Content-Type': 'application/json'})
            reply = conn.getresponse()
            text = reply.read()
            with lock:
                statuses.append(reply.status)
                if reply.status == 200:
                    stored.append(json.loads(text)['stored'])
                else:
                    print(f'HTTP {reply.status}: {text[:300]!r}',
                          file=sys.stderr)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,))
               for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    bad = [s for s in statuses if s != 200]
    assert not bad and len(statuses) == len(raws), bad[:5]
    assert sum(stored) == len(raws) * TRACKS_PER_REQUEST, sum(stored)
    return elapsed


def storedOnce(uri, readKey, port, requests):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
    total = 0
    for n in (0, requests - 1):
        for name in ('clicks', 'uptime', 'mode'):
            conn.request('GET', f'/api/applications/Bench/trackables/{name}'
                                f'/history?user=user-{n}',
                         headers={'Authorization': f'Bearer {readKey}'})
            history = json.loads(conn.getresponse().read())['history']
            numbers = [e['number'] for e in history]
            assert len(numbers) == len(set(numbers))
            total += len(numbers)
    conn.close()
    assert total == 2 * TRACKS_PER_REQUEST, total


def oneProcess(directory, requests, clients):
    db = os.path.join(directory, 'hq.fs')
    key = cli('hq', 'add-key', '--db', db, '--group', 'bench')
    readKey = cli('hq', 'add-key', '--db', db, '--group', 'bench', '--read')
    uploads = bodies(requests, key)
    port = freePort()
    with hqServe(db, port):
        elapsed = post([port], uploads, clients)
        storedOnce(db, readKey, port, requests)
    return elapsed


def twoOnZEO(directory, requests, clients):
    with zeoServer(directory, 'zeo-hq.fs', stderr=LOG) as uri:
        key = cli('hq', 'add-key', '--db', uri, '--group', 'bench')
        readKey = cli('hq', 'add-key', '--db', uri, '--group', 'bench',
                      '--read')
        uploads = bodies(requests, key)
        ports = [freePort(), freePort()]
        with hqServe(uri, ports[0]), hqServe(uri, ports[1]):
            elapsed = post(ports, uploads, clients)
            storedOnce(uri, readKey, ports[0], requests)
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=40)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of each, the fastest counts')
    args = parser.parse_args(argv)
    os.environ.setdefault('no_proxy', '127.0.0.1')
    tracks = args.requests * TRACKS_PER_REQUEST
    print(f'{args.requests} requests of {TRACKS_PER_REQUEST} tracks '
          f'({tracks} tracks), {args.clients} clients, '
          f'{os.cpu_count()} CPUs, fastest of {args.repeat} runs')
    uploads = bodies(args.requests, 'k')

    def best(work):
        # The fastest of --repeat runs, each in a folder of its own: the
        # machine's other load only ever adds time.
        times = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as directory:
                times.append(work(directory))
        return min(times)

    def viaZEO(perUser):
        def work(directory):
            with zeoServer(directory, 'zeo-direct.fs', stderr=LOG) as uri:
                return direct(uri, uploads, perUser)
        return work

    one = best(lambda d: direct(os.path.join(d, 'direct.fs'), uploads))
    per = best(lambda d: direct(os.path.join(d, 'per-user.fs'), uploads,
                                True))
    hqOne = best(lambda d: oneProcess(d, args.requests, args.clients))
    zeoOne = best(viaZEO(False))
    zeoPer = best(viaZEO(True))
    hqTwo = best(lambda d: twoOnZEO(d, args.requests, args.clients))
    runs = [('storage, direct, FileStorage, one storage', one, one, per),
            ('storage, direct, FileStorage, per user', per, one, per),
            ('hq serve, one process, FileStorage', hqOne, one, per),
            ('storage, direct, ZEO, one storage', zeoOne, zeoOne, zeoPer),
            ('storage, direct, ZEO, per user', zeoPer, zeoOne, zeoPer),
            ('hq serve, two processes, one ZEO server', hqTwo, zeoOne,
             zeoPer)]
    print(f'{"":42} {"tracks/s":>9} {"replies/s":>9} {"vs one":>7} '
          f'{"vs per user":>11}')
    for name, seconds, peerOne, peerPer in runs:
        print(f'{name:42} {tracks / seconds:9.0f} '
              f'{args.requests / seconds:9.1f} {seconds / peerOne:7.2f} '
              f'{seconds / peerPer:11.2f}')
    print('ratios: seconds per track against saving the same tracks '
          'straight into one TrackingStorage, or into one per user as the '
          'HQ keeps them, in one process on the same kind of storage; '
          '"vs per user" - 1 is what the HTTP, validation and aggregate '
          'layers cost.')


if __name__ == '__main__':
    main()
