"""Subcommands that look into a TrackingStorage: demo, tasks, users, runs,
query.

Every command takes ``--db PATH|URI`` (default ``tracking.fs``). Only
``demo`` writes; the others refuse a missing file instead of creating
one. Tables are for people; ``--json`` prints the same facts for scripts.
"""

import contextlib
import json

from ZODB.POSException import POSError

from cybertools_tracking.check import capturedLoadErrors, describe
from cybertools_tracking.cli.common import (
    CommandError, addDbArgument, iterTracks, openSession, printJSON,
    printJSONStream, printTable)
from cybertools_tracking.generations import SchemaError
from cybertools_tracking.timestamps import (
    getTimeStamp, parseTime, timeStamp2ISO8601, timeStamp2Text)
from cybertools_tracking.validation import MAX_COUNT, checkCount

DEFAULT_DB = 'tracking.fs'


def register(subparsers):
    parser = subparsers.add_parser(
        'demo', help='fill a database with example tracks and show what '
                     'the storage answers',
        description='Save a few tasks, users and runs into a FileStorage '
                    '(created if missing; running it again adds another '
                    'session), then print tracks per task, a user\'s last '
                    'track, the runs and a time-range query.')
    addDbArgument(parser, DEFAULT_DB)
    parser.set_defaults(handler=demo)

    parser = subparsers.add_parser(
        'tasks', help='list the tasks with their track and user counts')
    addDbArgument(parser, DEFAULT_DB)
    _addJSON(parser)
    parser.set_defaults(handler=tasks)

    parser = subparsers.add_parser(
        'users', help="list a task's users with their track counts")
    parser.add_argument('task', metavar='TASK', help='the task id')
    addDbArgument(parser, DEFAULT_DB)
    _addJSON(parser)
    parser.set_defaults(handler=users)

    parser = subparsers.add_parser(
        'runs', help='list the runs (of one task) and their state')
    parser.add_argument('task', metavar='TASK', nargs='?',
                        help='only the runs started for this task')
    addDbArgument(parser, DEFAULT_DB)
    _addJSON(parser)
    parser.set_defaults(handler=runs)

    parser = subparsers.add_parser(
        'query', help='list the tracks matching all the criteria given',
        description='List the tracks matching all the criteria given, in '
                    'track-number order. A criterion given several times '
                    'matches any of its values; a value ending in * '
                    'matches that prefix.')
    addQueryArguments(parser)
    addDbArgument(parser, DEFAULT_DB)
    parser.add_argument('--json', action='store_true',
                        help='print JSON for scripts instead of a table '
                             '(streamed: any number of tracks; export '
                             'writes JSON lines or CSV for other tools)')
    parser.set_defaults(handler=query)


def addQueryArguments(parser):
    """The criteria query and export share."""
    parser.add_argument('--task', action='append', metavar='T',
                        help='task id (or prefix*)')
    parser.add_argument('--user', action='append', metavar='U',
                        help='user name (or prefix*)')
    parser.add_argument('--run', action='append', type=int, metavar='N',
                        help='run id')
    parser.add_argument('--from', dest='timeFrom', metavar='T',
                        help='saved at or after T: epoch seconds or a local '
                             'time like 2026-11-23 or "2026-11-23 18:30"')
    parser.add_argument('--to', dest='timeTo', metavar='T',
                        help='saved at or before T (same forms as --from; '
                             'a bare date includes that whole day)')
    parser.add_argument('--limit', type=int, metavar='N',
                        help=f'at most N tracks (0 to {MAX_COUNT})')
    parser.add_argument('--reverse', action='store_true',
                        help='newest (highest track number) first')


def _addJSON(parser):
    parser.add_argument('--json', action='store_true',
                        help='print JSON for scripts instead of a table')


def storageOf(session, args):
    """The session's TrackingStorage, loaded; a CommandError before any
    work when it is of a schema generation this code cannot read or the
    file cannot load it. (Something other than a storage under the root
    key is refused when the session opens it: see ``openSession``.)
    """
    storage = session.storage
    try:
        with capturedLoadErrors():
            storage._p_activate()
    except SchemaError as exc:
        # Session.close would treat it as a storage (release its numbers).
        session.storage = None
        raise CommandError(f'{args.db}: {exc}') from None
    except Exception as exc:
        session.storage = None
        raise CommandError(f'{args.db}: the storage under root key '
                           f'{args.key!r} cannot be loaded ({describe(exc)})'
                           ) from None
    return storage


@contextlib.contextmanager
def openStorage(args, write=False, create=None):
    """(session, storage) for a command (write, create: as for
    ``openSession``): as ``storageOf``, and a part of the file that cannot
    be read while the command works is one line too, pointing to
    ``check``."""
    with openSession(args, write=write, create=create) as session:
        storage = storageOf(session, args)
        try:
            with capturedLoadErrors():
                yield session, storage
        except POSError as exc:
            raise CommandError(
                f'{args.db}: cannot read the storage ({describe(exc)}); '
                f'cybertools-tracking check --db {args.db} names what is '
                f'damaged') from None


# reading

def tasks(args):
    with openStorage(args) as (session, storage):
        rows = []
        for taskId in storage.getTaskIds():
            run = storage.getRun(taskId)
            rows.append({'taskId': taskId,
                         'tracks': len(storage.query(taskId=taskId)),
                         'users': len(storage.getUserNames(taskId)),
                         'currentRun': run.id if run is not None else None})
    if args.json:
        printJSON(rows)
    elif not rows:
        print(f'{args.db}: no tracks yet')
    else:
        printTable([(r['taskId'], r['tracks'], r['users'], r['currentRun'])
                    for r in rows],
                   ('task', 'tracks', 'users', 'current run'))
    return 0


def users(args):
    with openStorage(args) as (session, storage):
        names = storage.getUserNames(args.task)
        if not names:
            raise CommandError(f'task {args.task!r} has no tracks; tasks: '
                               f'{_listing(storage.getTaskIds())}')
        rows = []
        for name in names:
            # One selection serves both: its length, and its last track
            # (the highest number, the newest), loaded alone.
            tracks = storage.query(taskId=args.task, userName=name)
            newest = tracks[-1]
            rows.append({'userName': name,
                         'tracks': len(tracks),
                         'newestTrack': newest.__name__,
                         'newestTimeStamp': newest.timeStamp})
    if args.json:
        printJSON(rows)
    else:
        printTable([(r['userName'], r['tracks'], r['newestTrack'],
                     timeStamp2Text(r['newestTimeStamp'])) for r in rows],
                   ('user', 'tracks', 'newest track', 'saved'))
    return 0


def runs(args):
    with openStorage(args) as (session, storage):
        found = storage.getRuns(args.task)
        if args.task is not None and not found:
            known = sorted({run.taskId for run in storage.getRuns()
                            if run.taskId is not None})
            raise CommandError(f'no runs for task {args.task!r}; tasks with '
                               f'runs: {_listing(known)}')
        rows = [_runDict(storage, run) for run in found]
    if args.json:
        printJSON(rows)
    elif not rows:
        print(f'{args.db}: no runs yet')
    else:
        printRuns(rows)
    return 0


def queryCriteria(args):
    """The keyword arguments for storage.query() the query options give
    (limit and reverse too); a bad value is a CommandError."""
    criteria = {}
    for name, values in (('taskId', args.task), ('userName', args.user),
                         ('runId', args.run)):
        if values:
            criteria[name] = values[0] if len(values) == 1 else values
    try:
        if args.timeFrom is not None:
            criteria['timeFrom'] = parseTime(args.timeFrom, '--from')
        if args.timeTo is not None:
            criteria['timeTo'] = parseTime(args.timeTo, '--to',
                                           endOfDay=True)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    try:
        if args.limit is not None:
            checkCount(args.limit, '--limit', allowNone=False)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    criteria.update(limit=args.limit, reverse=args.reverse)
    return criteria


def query(args):
    criteria = queryCriteria(args)
    with openStorage(args) as (session, storage):
        try:
            result = storage.query(**criteria)
            if args.json:
                # Streamed, so any number of tracks fits in memory.
                printJSONStream(trackDict(track)
                                for track in iterTracks(session, result))
                return 0
            rows = [trackDict(track) for track in result]
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    if not rows:
        print('no tracks match')
    else:
        printTracks(rows)
    return 0


# the demo

DEMO_ANSWERS = {
    # task: [(user, data), ...] in the order they are saved, a minute apart
    'quiz.capitals': [
        ('alice', {'question': 'France', 'answer': 'Paris', 'correct': True}),
        ('bob', {'question': 'France', 'answer': 'Lyon', 'correct': False}),
        ('alice', {'question': 'Peru', 'answer': 'Lima', 'correct': True}),
        ('bob', {'question': 'Peru', 'answer': 'Lima', 'correct': True}),
    ],
    'quiz.rivers': [
        ('carol', {'question': 'Egypt', 'answer': 'Nile', 'correct': True}),
        ('alice', {'question': 'Egypt', 'answer': 'Nile', 'correct': True}),
    ],
}
DEMO_STEP = 60      # seconds between two saved tracks


def demo(args):
    with openStorage(args, write=True) as (session, storage):
        before = len(storage)
        now = getTimeStamp()
        start = now - 10 * DEMO_STEP
        made = session.run(fillDemo, start)
        printDemo(storage, args, before, start, made)
    return 0


def fillDemo(storage, start):
    """Save one demo session starting at start (epoch seconds): a finished
    quiz run, a quiz run left open, and a draft saved three times with
    update=True (one track). Returns {task: runId} of the runs it started.
    """
    made = {}
    when = start

    def startRun(taskId):
        runId = made[taskId] = storage.startRun(taskId)
        # The demo replays a session of the last minutes: its runs start
        # when their first track was saved, not now.
        run = storage.getRun(runId=runId)
        run.start = run.end = when
        return runId

    for taskId, answers in DEMO_ANSWERS.items():
        runId = startRun(taskId)
        for userName, data in answers:
            storage.saveUserTrack(taskId, runId, userName, data,
                                  timeStamp=when)
            when += DEMO_STEP
    storage.stopRun('quiz.capitals')    # finished; quiz.rivers stays open
    runId = startRun('editor.draft')
    for words in (120, 340, 512):
        storage.saveUserTrack('editor.draft', runId, 'bob', {'words': words},
                              update=True, timeStamp=when)
        when += DEMO_STEP
    storage.stopRun('editor.draft', finish=False)   # stopped, not finished
    return made


def printDemo(storage, args, before, start, made):
    added = len(storage) - before
    print(f'Demo database: {args.db} (root key {args.key!r})')
    if before:
        print(f'It already held {before} tracks; this demo session added '
              f'{added} more in runs {_listing(sorted(made.values()))}.')
    else:
        print(f'This demo session saved {added} tracks in runs '
              f'{_listing(sorted(made.values()))}.')

    print('\nTracks per task  (getTaskIds, query(taskId=...), '
          'getUserNames)')
    printTable([(taskId, len(storage.query(taskId=taskId)),
                 ', '.join(storage.getUserNames(taskId)))
                for taskId in storage.getTaskIds()],
               ('task', 'tracks', 'users'))

    runId = made['quiz.capitals']
    print(f"\nalice's last track in quiz.capitals, run {runId}  "
          f"(getLastUserTrack('quiz.capitals', {runId}, 'alice'))")
    print(storage.getLastUserTrack('quiz.capitals', runId, 'alice'))
    runId = made['editor.draft']
    print(f"bob saved his draft 3 times with update=True: "
          f"{len(storage.getUserTracks('editor.draft', runId, 'bob'))} "
          f"track in run {runId}")
    print(storage.getLastUserTrack('editor.draft', runId, 'bob'))

    print('\nRuns  (getRuns; a stopped run is no longer its task\'s current '
          'run, a finished one was stopped with finish=True)')
    printRuns([_runDict(storage, run) for run in storage.getRuns()])

    low, high = start + 2 * DEMO_STEP, start + 4 * DEMO_STEP
    print(f'\nTracks saved from {timeStamp2Text(low)} to '
          f'{timeStamp2Text(high)}  (query(timeFromTo=({low}, {high})))')
    printTracks([trackDict(track)
                 for track in storage.query(timeFromTo=(low, high))])

    db = args.db
    print('\nLook further:\n'
          f'  cybertools-tracking tasks --db {db}\n'
          f'  cybertools-tracking runs quiz.rivers --db {db}\n'
          f"  cybertools-tracking query --db {db} --task 'quiz.*' "
          f'--user alice --json')


# shared by the commands (and other layers' commands)

def trackDict(track):
    """A track as a JSON-ready dict."""
    return {'id': track.__name__, 'taskId': track.taskId,
            'runId': track.runId, 'userName': track.userName,
            'timeStamp': track.timeStamp,
            'time': timeStamp2ISO8601(track.timeStamp),
            'data': dict(track.data)}


def printTracks(rows):
    printTable([(r['id'], r['taskId'], r['runId'], r['userName'],
                 timeStamp2Text(r['timeStamp']),
                 json.dumps(r['data'], sort_keys=True, default=str,
                            ensure_ascii=False))
                for r in rows],
               ('id', 'task', 'run', 'user', 'saved', 'data'))


def _runDict(storage, run):
    current = run.taskId is not None \
        and storage.getRun(run.taskId) is run
    return {'id': run.id, 'taskId': run.taskId,
            'start': run.start, 'end': run.end,
            'finished': run.finished, 'current': current,
            'state': ('current' if current else
                      'finished' if run.finished else 'unfinished'),
            'tracks': len(storage.query(runId=run.id))}


def printRuns(rows):
    printTable([(r['id'], r['taskId'], timeStamp2Text(r['start']),
                 timeStamp2Text(r['end']), r['state'], r['tracks'])
                for r in rows],
               ('run', 'task', 'start', 'end', 'state', 'tracks'))


def _listing(names):
    return ', '.join(str(name) for name in names) or 'none'
