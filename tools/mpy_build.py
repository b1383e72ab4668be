"""Compile the meter to .mpy with mpy-cross (make mpy, make deploy, make bench, the tests).

    python tools/mpy_build.py                      lib/ and firmware/ to build/mpy/ as they are
                                                   (what `make mpy` always did; --arch for the
                                                   files with native or viper code, default
                                                   xtensawin)
    python tools/mpy_build.py --board esp32        the board's filesystem in build/mpy/esp32/:
                                                     lib/dlms/...         the library (core;
                                                                          --with pk adds
                                                                          lib/dlms_pk/)
                                                     lib/<module>.mpy     firmware/ (main.py as
                                                                          meter_main.mpy)
                                                     lib/transports/...
                                                     lib/board.mpy        boards/esp32/board.py
                                                     main.py              "import meter_main"

Files that use @micropython.native or @micropython.viper are compiled with the board's -march
(esp32: xtensawin, rp2040: armv6m, host: x64); everything else is plain bytecode, which runs on
any port. --opt N passes -ON (1: no asserts, 3: no line numbers either). Prints
"mpy: N files, T bytes of .mpy in DIR".
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCH = {'esp32': 'xtensawin', 'rp2040': 'armv6m', 'host': 'x64'}
BOARDS = ('esp32', 'rp2040')
_NATIVE = re.compile(r'^\s*@micropython\.(native|viper)\b', re.M)
MAIN_MODULE = 'meter_main'      # firmware/main.py on a board; /main.py just imports it


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), 'mpy-cross')
    if os.access(here, os.X_OK):
        return here
    found = shutil.which('mpy-cross')
    if not found:
        raise SystemExit('mpy-cross not found: run make (it installs requirements/test.txt)')
    return found


def needs_arch(path):
    with open(path) as f:
        return bool(_NATIVE.search(f.read()))


def _sources(top, skip=()):
    """(source path, path relative to top) of every .py under ROOT/top, sorted."""
    found = []
    base = os.path.join(ROOT, top)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        for f in sorted(filenames):
            if f.endswith('.py'):
                rel = os.path.relpath(os.path.join(dirpath, f), base)
                if rel not in skip:
                    found.append((os.path.join(dirpath, f), rel))
    return found


def board_profile(board):
    """boards/BOARD/board.py read under CPython (profiles import `machine` only when used)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'board_profile_' + board, os.path.join(ROOT, 'boards', board, 'board.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The library's packages in lib/: the core every board gets, and the optional ones a board gets
# when asked (`make mpy BOARD=... WITH=pk`, `--with pk`; the boards' manifest_pk.py freezes the
# same), the way micropython-lib composes a package from optional parts.
CORE = ('dlms',)
OPTIONAL = {
    'pk': 'dlms_pk',        # public-key security: curves, ECDSA, ECDH, SHA-384, certificates
    'pure': 'dlms_pure',    # pure-Python AES and GHASH for firmware without cryptolib or viper
}


# Packages for the host profile only (tools/meter_memory.py's compiled virtual meter): never on
# a board, so no manifest and no WITH= for esp32/rp2040.
HOST_ONLY = {
    'ca': 'dlms_ca',        # the demo CA and PEM files (boards/host/demo_enroll.py)
}


def lib_packages(with_=(), board=None):
    """The lib/ packages of a board build: CORE and the OPTIONAL ones named in `with_` (and,
    for the host profile, HOST_ONLY ones)."""
    known = dict(OPTIONAL)
    if board == 'host':
        known.update(HOST_ONLY)
    for name in with_:
        if name not in known:
            raise SystemExit('unknown optional package %r (%s)' % (name, ', '.join(known)))
    return CORE + tuple(known[n] for n in with_)


def board_sources(board, with_=()):
    """[(source, destination on the board)] for BOARD's filesystem (destinations end in .py):
    lib/'s core packages and those of `with_` (OPTIONAL), firmware/ but main.py and the profile's
    DEPLOY_EXCLUDE, the profile itself and the modules beside it."""
    skip = ('main.py',) + tuple(getattr(board_profile(board), 'DEPLOY_EXCLUDE', ()))
    files = []
    for pkg in lib_packages(with_, board):
        files += [(src, 'lib/%s/%s' % (pkg, rel)) for src, rel in _sources('lib/' + pkg)]
    files += [(src, 'lib/' + rel) for src, rel in _sources('firmware', skip=skip)]
    files.append((os.path.join(ROOT, 'firmware', 'main.py'), 'lib/%s.py' % MAIN_MODULE))
    # the profile, and the modules beside it (the host profile's command line and ptys)
    here = os.path.join(ROOT, 'boards', board)
    for f in sorted(os.listdir(here)):
        if f.endswith('.py') and f != 'manifest.py' and not f.startswith('manifest_'):
            files.append((os.path.join(here, f), 'lib/' + f))
    return files


def compile_one(src, dst, arch, tool=None, opt=None):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    cmd = [tool or mpy_cross()]
    if opt:
        cmd.append('-O%d' % opt)
    if arch and needs_arch(src):
        cmd.append('-march=' + arch)
    cmd += ['-s', os.path.relpath(src, ROOT), '-o', dst, src]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    return os.path.getsize(dst)


def build_board(board, out=None, arch=None, opt=None, with_=()):
    """Compile BOARD's filesystem tree into `out` (default build/mpy/BOARD, emptied first).
    `opt`: mpy-cross -O level (1 drops asserts, 3 also line numbers); `with_`: OPTIONAL
    packages to add. Returns (out, [(destination, size)]) for the .mpy files."""
    arch = arch or ARCH[board]
    out = out or os.path.join(ROOT, 'build', 'mpy', board)
    if os.path.isdir(out):
        shutil.rmtree(out)
    tool = mpy_cross()
    sizes = []
    for src, dst in board_sources(board, with_):
        target = os.path.join(out, dst[:-3] + '.mpy')
        sizes.append((dst[:-3] + '.mpy', compile_one(src, target, arch, tool, opt)))
    with open(os.path.join(out, 'main.py'), 'w') as f:
        f.write('import %s  # the meter: firmware/main.py, compiled\n' % MAIN_MODULE)
    return out, sizes


def build_flat(out=None, arch='xtensawin', opt=None):
    """lib/ and firmware/ to `out` (default build/mpy/) keeping their paths: `make mpy`."""
    out = out or os.path.join(ROOT, 'build', 'mpy')
    tool = mpy_cross()
    sizes = []
    for top in ('lib', 'firmware'):
        for src, rel in _sources(top):
            dst = os.path.join(top, rel[:-3] + '.mpy')
            sizes.append((dst, compile_one(src, os.path.join(out, dst), arch, tool, opt)))
    return out, sizes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--board', choices=sorted(ARCH), help='build the board filesystem tree')
    p.add_argument('--arch', help='-march for native/viper files (default: the board\'s)')
    p.add_argument('--out', help='output directory')
    p.add_argument('--opt', type=int, default=0,
                   help='mpy-cross -O level: 1 drops asserts, 3 also line numbers (default 0)')
    p.add_argument('--with', dest='with_', default='',
                   help='optional lib packages for --board, comma-separated: %s'
                   % ', '.join('%s (%s)' % (k, v) for k, v in sorted(OPTIONAL.items())))
    a = p.parse_args(argv)
    if a.board:
        with_ = tuple(n for n in a.with_.split(',') if n)
        out, sizes = build_board(a.board, a.out, a.arch, a.opt, with_)
    else:
        out, sizes = build_flat(a.out, a.arch or 'xtensawin', a.opt)
    total = sum(n for _, n in sizes)
    print('mpy: %d files, %d bytes of .mpy in %s' % (len(sizes), total,
                                                     os.path.relpath(out, ROOT)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
