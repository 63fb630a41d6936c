"""What an application page of the HQ's dashboard costs with many users
and a year of days, side by side with its peers in the same process.

    python benchmarks/hq_dashboard.py [--users N] [--days D] [--repeat R]

Builds an HQ on a FileStorage in a temporary folder: N users (default
10,000) of one application in two versions, each uploading a Statistic,
a Timer and a State with tracks spread over D days (default 365), stored
through the HQ's own ``model.record`` as uploads are. Then, best of R:

* the page: GET /application?name=... through the whole WSGI app (logged
  in: session cookie, read model, charts, HTML), all users, all days;
* the page filtered to one version and the last 30 days;
* peer 1, the read model alone: ``ReadModel.trackable`` of every
  trackable, what the page reads (the rest is drawing and HTML);
* peer 2, walking the tracks: every user's history of every trackable
  (``ReadModel.history``), what the page would cost without the
  aggregates kept as uploads arrive.

Each is timed on a cold cache (a fresh connection, the database's cache
emptied) and warm. Prints seconds and ratios. Not a test: numbers depend
on the machine and its load.
"""

import argparse
import os
import random
import sys
import tempfile
import time

import transaction
import webtest

from cybertools_tracking.hq import accounts, makeApp, model
from cybertools_tracking.hq.validate import checkUpload
from cybertools_tracking.pyramid import closeDatabase

APP = 'Editor'
STATES = ['light', 'dark', 'contrast', 'sepia']
ENTRIES = 4             # tracks per user and trackable
BATCH = 250             # users per transaction while building


def build(db, users, days, seed=5):
    rng = random.Random(seed)
    end = int(time.time()) // 86400 * 86400
    start = end - (days - 1) * 86400
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    number = 0
    try:
        for first in range(0, users, BATCH):
            with tm:
                hq = model.hqRoot(conn)
                for n in range(first, min(first + BATCH, users)):
                    times = sorted(rng.randrange(start, end + 86400)
                                   for _ in range(ENTRIES))
                    tracks = {'saves': [], 'time': [], 'theme': []}
                    count = seconds = 0
                    for when in times:
                        count += rng.randrange(1, 20)
                        seconds += rng.uniform(10, 3600)
                        for name, value in (('saves', count),
                                            ('time', round(seconds, 3))):
                            number += 1
                            tracks[name].append({
                                'Number': number, 'Run': 1, 'Time': when,
                                'Count': value})
                        number += 1
                        tracks['theme'].append({
                            'Number': number, 'Run': 1, 'Time': when,
                            'State': rng.choice(STATES)})
                    body = {
                        'API Key': 'x', 'User Identifier': f'user-{n:05d}',
                        'Application Name': APP,
                        'Application Version': '1.0' if n % 3 else '2.0',
                        'Data': {
                            'saves': {'type': 'Statistic', 'data': count},
                            'time': {'type': 'Timer',
                                     'data': round(seconds, 3)},
                            'theme': {'type': 'State',
                                      'data': tracks['theme'][-1]['State']}},
                        'Tracks': tracks}
                    model.record(hq, 'acme', checkUpload(body))
                if first == 0:
                    accounts.addUser(hq, 'acme', 'bench', 'bench')
            print(f'  built {min(first + BATCH, users):,} users',
                  end='\r', file=sys.stderr, flush=True)
    finally:
        conn.close()
    print(file=sys.stderr)
    return (time.strftime('%Y-%m-%d', time.gmtime(end - 29 * 86400)),
            time.strftime('%Y-%m-%d', time.gmtime(end)))


def timed(work, repeat, cold):
    best = None
    for _ in range(repeat):
        if cold:
            cold()
        began = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - began
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--users', type=int, default=10_000)
    parser.add_argument('--days', type=int, default=365)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'hq.fs')
        wsgi = makeApp({'tracking.uri': path})
        db = wsgi.registry.tracking_db
        began = time.perf_counter()
        last30 = build(db, args.users, args.days)
        print(f'built {args.users:,} users x 3 trackables x {ENTRIES} '
              f'tracks over {args.days} days in '
              f'{time.perf_counter() - began:.1f} s; '
              f'{os.path.getsize(path) / 2**20:.0f} MiB')
        app = webtest.TestApp(wsgi)
        form = app.get('/login').forms[0]
        form['user'], form['password'] = 'bench', 'bench'
        form.submit(status=303)

        def cold():
            db.cacheMinimize()

        def page(**params):
            return lambda: app.get('/application',
                                   params=dict(name=APP, **params))

        def reading(work):
            """work(conn, reader) in a transaction of a new connection."""
            def run():
                tm = transaction.TransactionManager()
                conn = db.open(transaction_manager=tm)
                try:
                    with tm:
                        return work(conn, model.ReadModel(conn, 'acme'))
                finally:
                    conn.close()
            return run

        @reading
        def readModel(conn, reader):
            return [reader.trackable(APP, t['name'])
                    for t in reader.trackables(APP)]

        @reading
        def walk(conn, reader):
            users = list(model.findApplication(
                model.hqRoot(conn), 'acme', APP)['users'].keys())
            return sum(len(reader.history(APP, t['name'], user))
                       for t in reader.trackables(APP) for user in users)

        rows = []
        for label, work, repeat in (
                ('page, all users and days', page(), args.repeat),
                ('page, one version, last 30 days',
                 page(version='1.0', **{'from': last30[0],
                                        'to': last30[1]}), args.repeat),
                ('peer: read model alone', readModel, args.repeat),
                ('peer: walking every track', walk, 1)):
            coldS, result = timed(work, repeat, cold)
            warmS, _ = timed(work, repeat, None)
            if label.startswith('page'):
                size = len(result.body)
                assert result.status_int == 200 and b'svg' in result.body
                label += f' ({size / 1024:.0f} KiB)'
            elif label.endswith('track'):
                label += f' ({result:,} tracks)'
            rows.append((label, coldS, warmS))
        closeDatabase(wsgi.registry)
    width = max(len(r[0]) for r in rows)
    print(f'{"":{width}}  {"cold s":>8}  {"warm s":>8}')
    for label, coldS, warmS in rows:
        print(f'{label:{width}}  {coldS:8.3f}  {warmS:8.3f}')
    page, model_, walk_ = rows[0], rows[2], rows[3]
    print(f'page / read model alone: cold {page[1] / model_[1]:.1f}x, '
          f'warm {page[2] / model_[2]:.1f}x')
    print(f'walking every track / page: cold {walk_[1] / page[1]:.1f}x, '
          f'warm {walk_[2] / page[2]:.1f}x')


if __name__ == '__main__':
    main()
