"""The ``cybertools-tracking`` command (also ``python -m cybertools_tracking``).

Each module in COMMAND_MODULES adds its subcommands with
``register(subparsers)``; a subcommand's handler takes the parsed
arguments and returns the exit code. ``CommandError`` becomes one line on
stderr and exit status 2, never a traceback. Text the terminal's encoding
cannot show is printed as backslash escapes, and a reader that goes away
(``| head``) ends the command quietly.
"""

import argparse
import importlib.metadata
import os
import platform
import sys

from cybertools_tracking.cli.common import CommandError

from cybertools_tracking.cli import (
    copy, export, hq, report, storage, upkeep, usage)

# In the order --help lists them. Each imports only the core at load time;
# an optional extra (ZEO, RelStorage, the HQ) is loaded when its command
# runs, and its absence is one line naming the extra.
COMMAND_MODULES = (storage, usage, upkeep, report, export, copy, hq)


def versions():
    """The lines --version prints: this package's, Python's and ZODB's."""
    lines = []
    for label, dist in (('cybertools_tracking', 'cybertools_tracking'),
                        ('Python', None), ('ZODB', 'ZODB')):
        if dist is None:
            version = platform.python_version()
        else:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                version = 'unknown (not installed as a distribution)'
        lines.append(f'{label} {version}')
    return lines


class _Version(argparse.Action):

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0,
                         help='print the versions of this package, Python '
                              'and ZODB, one a line, and exit')

    def __call__(self, parser, namespace, values, option_string=None):
        print('\n'.join(versions()))
        parser.exit()


def buildParser():
    parser = argparse.ArgumentParser(
        prog='cybertools-tracking',
        description='Record what users do and keep it in ZODB.')
    parser.add_argument('--version', action=_Version)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv=None):
    _escapeUnencodable()
    parser = buildParser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except CommandError as exc:
        print(f'cybertools-tracking {args.command}: {exc}', file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silenceStdout()
        return 0
    except KeyboardInterrupt:
        # Ctrl-C: what the command made is undone by now (the import
        # removes its file, export its partial output); no traceback.
        print(f'cybertools-tracking {args.command}: interrupted',
              file=sys.stderr)
        return 130


def _escapeUnencodable():
    # A table of names in any language must not crash on a terminal (or
    # PYTHONIOENCODING) that cannot show them; JSON escapes on its own.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, 'reconfigure', None)
        if reconfigure is not None and stream.errors == 'strict':
            reconfigure(errors='backslashreplace')


def _silenceStdout():
    # The reader has gone: what is still buffered cannot be written, and
    # Python would complain about it at exit. Point stdout at /dev/null.
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
