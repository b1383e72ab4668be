# Runs the plain vector tests (tests/vectors/test_*.py) under MicroPython, without pytest.
#   MICROPYPATH=.frozen:lib:tests/vectors micropython tests/mp_runner.py [test_module ...]
# Every callable named test_* in each module is called; a test passes when it returns.
# The last line is "N passed, M failed"; the exit status is 1 when anything failed.
# Also runs under CPython (python tests/mp_runner.py), which helps when comparing the two.
import os
import sys


def _dirname(path):
    # MicroPython has no os.path.
    i = path.rfind('/')
    if i < 0:
        return '.'
    if i == 0:
        return '/'
    return path[:i]


_TESTS = _dirname(__file__)
_VECTORS = _TESTS + '/vectors'
_LIB = _TESTS + '/../lib'

for _p in (_LIB, _VECTORS):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def _print_exception(e):
    if hasattr(sys, 'print_exception'):
        sys.print_exception(e)
    else:
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__)


def _discover():
    names = []
    for name in os.listdir(_VECTORS):
        if name.startswith('test_') and name.endswith('.py'):
            names.append(name[:-3])
    names.sort()
    return names


def _run_module(name):
    """(passed, failed) for one module; an import error counts as one failure."""
    if name.endswith('.py'):
        name = name[:-3]
    try:
        module = __import__(name)
    except Exception as e:
        print('FAIL %s (import): %s: %s' % (name, type(e).__name__, e))
        _print_exception(e)
        return 0, 1
    passed = 0
    failed = 0
    for attr in sorted(dir(module)):
        if not attr.startswith('test_'):
            continue
        fn = getattr(module, attr)
        if not callable(fn):
            continue
        try:
            fn()
        except Exception as e:
            failed += 1
            print('FAIL %s.%s: %s: %s' % (name, attr, type(e).__name__, e))
            _print_exception(e)
        else:
            passed += 1
    print('%s: %d passed, %d failed' % (name, passed, failed))
    return passed, failed


def main(argv):
    names = argv[1:] or _discover()
    passed = 0
    failed = 0
    for name in names:
        p, f = _run_module(name)
        passed += p
        failed += f
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
