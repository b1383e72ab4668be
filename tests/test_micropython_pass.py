"""Every vector module in tests/vectors/ passes under the MicroPython unix port too.

Each module runs in its own micropython process through tests/mp_runner.py, with
MICROPYPATH=.frozen:lib:tests/vectors, as a board would import the code. (MICROPYPATH replaces
the port's default path; without `.frozen` the frozen asyncio, argparse ... disappear.)
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

_TESTS = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_TESTS)
_VECTORS = os.path.join(_TESTS, 'vectors')
_RUNNER = os.path.join(_TESTS, 'mp_runner.py')
_TIMEOUT = 300   # seconds per module; pure-Python AES under MicroPython is slow but not this slow
_SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed$', re.M)


def _micropython():
    """The micropython beside the interpreter running pytest (the venv's), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), 'micropython')
    if os.access(here, os.X_OK):
        return here
    return shutil.which('micropython')


def _vector_modules():
    if not os.path.isdir(_VECTORS):
        return []
    return sorted(n[:-3] for n in os.listdir(_VECTORS)
                  if n.startswith('test_') and n.endswith('.py'))


@pytest.mark.parametrize('module', _vector_modules())
def test_vector_module_passes_under_micropython(module):
    micropython = _micropython()
    assert micropython, 'micropython not found: run `make test` (it installs requirements/test.txt)'
    env = dict(os.environ)
    env['MICROPYPATH'] = '.frozen:' + os.path.join(_ROOT, 'lib') + ':' + _VECTORS
    proc = subprocess.run([micropython, _RUNNER, module], cwd=_ROOT, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=_TIMEOUT)
    out = proc.stdout.decode('utf-8', 'replace')
    found = _SUMMARY.findall(out)
    assert found, 'no summary line from mp_runner:\n' + out
    passed, failed = (int(n) for n in found[-1])
    assert failed == 0 and passed >= 1 and proc.returncode == 0, (
        '%s under MicroPython: %d passed, %d failed, exit %d\n%s'
        % (module, passed, failed, proc.returncode, out))
