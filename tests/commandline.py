"""The command line as a user runs it: ``python -m cybertools_tracking``
in a process of its own, its output as text."""

import subprocess
import sys


def cli(*args):
    """The finished process of ``cybertools-tracking ARGS`` (str() of
    each), stdout and stderr captured as text."""
    return subprocess.run([sys.executable, '-m', 'cybertools_tracking',
                           *map(str, args)], capture_output=True, text=True,
                          timeout=120)
