"""The ``cybertools-tracking`` command (also ``python -m cybertools_tracking``).

Each module in COMMAND_MODULES adds its subcommands with
``register(subparsers)``; a subcommand's handler takes the parsed
arguments and returns the exit code. ``CommandError`` becomes one line on
stderr and exit status 2, never a traceback.
"""

import argparse
import importlib
import sys

from cybertools_tracking.cli.common import CommandError

COMMAND_MODULES = (
    'cybertools_tracking.cli.storage',
    'cybertools_tracking.cli.usage',
    'cybertools_tracking.cli.upkeep',
    'cybertools_tracking.cli.hq',
)


def buildParser():
    parser = argparse.ArgumentParser(
        prog='cybertools-tracking',
        description='Record what users do and keep it in ZODB.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue    # a layer not built yet
        module.register(subparsers)
    return parser


def main(argv=None):
    parser = buildParser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except CommandError as exc:
        print(f'cybertools-tracking {args.command}: {exc}', file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
