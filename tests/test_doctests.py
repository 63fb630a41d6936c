"""Each doctest sets up what it needs: run alone, in a pytest of its own
with nothing before it, every one passes."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCTESTS = sorted(path.name for path in (ROOT / 'doctests').glob('*.txt'))


def test_the_tour_has_its_doctests():
    assert 'tracking.txt' in DOCTESTS and len(DOCTESTS) >= 3


@pytest.mark.parametrize('name', DOCTESTS)
def test_a_doctest_passes_alone(name, tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         '--rootdir', str(ROOT), str(ROOT / 'doctests' / name)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.splitlines()[-1].startswith('1 passed')
