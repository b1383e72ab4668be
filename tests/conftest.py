"""pytest set-up shared by every test.

lib/ (the code under test), tests/vectors/ (plain vector modules that also run under MicroPython
via tests/mp_runner.py) and tests/ itself (for the `interop` package) go on sys.path, so the
vector modules import under CPython exactly as they do under MicroPython's MICROPYPATH.
"""
import os
import sys

_TESTS = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_TESTS)

for _path in (_TESTS, os.path.join(_TESTS, 'vectors'), os.path.join(_ROOT, 'lib')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# The MicroPython runner is a script, not a test module.
collect_ignore = ['mp_runner.py']
