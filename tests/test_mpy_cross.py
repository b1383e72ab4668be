"""Every .py that goes onto a board (lib/, firmware/, the board profiles boards/esp32 and
boards/rp2040) compiles with mpy-cross for the boards' architectures: xtensawin (ESP32) and
armv6m (RP2040). A board's manifest.py runs on the build host, not on the board."""
import os
import shutil
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SOURCE_DIRS = ('lib', 'firmware', 'boards/esp32', 'boards/rp2040')
_HOST_SIDE = ('manifest.py',)


def _mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), 'mpy-cross')
    if os.access(here, os.X_OK):
        return here
    return shutil.which('mpy-cross')


def _sources():
    found = []
    for top in _SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(_ROOT, top)):
            dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
            found.extend(os.path.join(dirpath, f) for f in sorted(filenames)
                         if f.endswith('.py') and f not in _HOST_SIDE)
    return found


@pytest.mark.parametrize('arch', ['xtensawin', 'armv6m'])
def test_every_source_file_compiles_with_mpy_cross(arch, tmp_path):
    mpy_cross = _mpy_cross()
    assert mpy_cross, 'mpy-cross not found: run `make test` (it installs requirements/test.txt)'
    sources = _sources()
    assert sources, 'no .py files under %s' % ', '.join(_SOURCE_DIRS)
    for d in _SOURCE_DIRS[2:]:
        assert os.path.join(_ROOT, d, 'board.py') in sources, d
    failures = []
    for i, src in enumerate(sources):
        rel = os.path.relpath(src, _ROOT)
        proc = subprocess.run([mpy_cross, '-march=' + arch, '-s', rel,
                               '-o', str(tmp_path / ('%d.mpy' % i)), src],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)
        if proc.returncode != 0:
            failures.append('%s: %s' % (rel, proc.stdout.decode('utf-8', 'replace').strip()))
    assert not failures, '%d of %d files fail for %s:\n%s' % (
        len(failures), len(sources), arch, '\n'.join(failures))
