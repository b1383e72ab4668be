"""What goes onto a board, checked without one: the board filesystem trees `make mpy BOARD=`
builds (viper code for the board's architecture, everything else plain bytecode), `make deploy`
(run against a stand-in mpremote that applies the copies to a directory), each board's
manifest.py (run with a stand-in of MicroPython's manifest API) and package.json for mip."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, 'tools'))

import mpy_build  # noqa: E402

# .mpy header byte 2: architecture << 2 | native sub-version (py/persistentcode.h)
_ARCH_CODE = {'xtensawin': 10, 'armv6m': 4}


def _mpy_arch(path):
    with open(path, 'rb') as f:
        head = f.read(4)
    assert head[0:1] == b'M' and head[1] == 6, (path, head)
    return head[2] >> 2


@pytest.mark.parametrize('board', mpy_build.BOARDS)
def test_board_tree_has_every_module_and_viper_only_for_the_board_arch(board, tmp_path):
    out, sizes = mpy_build.build_board(board, str(tmp_path / board))
    names = {d for d, _ in sizes}
    assert 'lib/board.mpy' in names and 'lib/meter_main.mpy' in names
    assert 'lib/dlms/server.mpy' in names and 'lib/supervisor.mpy' in names
    assert 'lib/main.mpy' not in names
    for excluded in mpy_build.board_profile(board).DEPLOY_EXCLUDE:
        assert 'lib/' + excluded[:-3] + '.mpy' not in names
    with open(os.path.join(out, 'main.py')) as f:
        assert f.read().startswith('import meter_main')
    arch = _ARCH_CODE[mpy_build.ARCH[board]]
    for dst, _ in sizes:
        src = dict((d[:-3] + '.mpy', s) for s, d in mpy_build.board_sources(board))[dst]
        want = arch if mpy_build.needs_arch(src) else 0
        assert _mpy_arch(os.path.join(out, dst)) == want, dst
    assert any(mpy_build.needs_arch(s) for s, _ in mpy_build.board_sources(board))


_FAKE_MPREMOTE = textwrap.dedent('''\
    #!%s
    # Stand-in mpremote: applies connect/cp/exec/reset to the directory $FAKE_DEVICE.
    import os, shutil, subprocess, sys
    dev = os.environ['FAKE_DEVICE']
    with open(os.path.join(dev, '..', 'mpremote.log'), 'a') as log:
        log.write(' '.join(sys.argv[1:]) + '\\n')
    args = sys.argv[1:]
    cmds, cur = [], []
    for a in args:
        if a == '+':
            cmds.append(cur); cur = []
        else:
            cur.append(a)
    cmds.append(cur)
    for c in cmds:
        if c[0] == 'connect':
            c = c[2:]
            if not c:
                continue
        if c[0] == 'cp' and c[1] == '-r':
            src, dst = c[2], c[3]
            assert dst == ':'
            shutil.copytree(src, os.path.join(dev, os.path.basename(src)), dirs_exist_ok=True)
        elif c[0] == 'cp':
            shutil.copy(c[1], os.path.join(dev, c[2].lstrip(':')))
        elif c[0] == 'exec':
            subprocess.run([sys.executable, '-c', c[1]], cwd=dev, check=True)
        elif c[0] == 'reset':
            with open(os.path.join(dev, '..', 'resets'), 'a') as f:
                f.write('reset\\n')
        else:
            raise SystemExit('unexpected mpremote command %%r' %% c)
''')


@pytest.mark.parametrize('board,with_', [(b, '') for b in mpy_build.BOARDS] + [('esp32', 'pk')])
def test_make_deploy_stops_the_meter_copies_the_tree_and_resets(board, with_, tmp_path):
    fake = tmp_path / 'mpremote'
    fake.write_text(_FAKE_MPREMOTE % sys.executable)
    fake.chmod(0o755)
    dev = tmp_path / 'device'
    dev.mkdir()
    (dev / 'main.py').write_text('old meter\n')                  # a meter already deployed
    (dev / 'state').mkdir()
    (dev / 'state' / 'keystore.0').write_text('keys')             # never touched by deploy
    cfg = tmp_path / 'my-config.json'
    cfg.write_text('{"logical_device_name": "MMM0000000000042"}')
    env = dict(os.environ, FAKE_DEVICE=str(dev))
    proc = subprocess.run(['make', '-s', 'deploy', 'BOARD=' + board, 'PORT=/dev/fake',
                           'MPREMOTE=' + str(fake), 'DEPLOY_WAIT=0', 'CONFIG=' + str(cfg)]
                          + (['WITH=' + with_] if with_ else []),
                          cwd=_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode()
    calls = (tmp_path / 'mpremote.log').read_text().splitlines()
    assert len(calls) == 2, calls
    assert calls[0].startswith('connect /dev/fake exec ') and calls[0].endswith('+ reset')
    assert calls[1].startswith('connect /dev/fake cp -r build/mpy/%s/lib :' % board)
    assert calls[1].endswith('+ reset')
    assert (tmp_path / 'resets').read_text() == 'reset\nreset\n'
    assert (dev / 'main.py').read_text().startswith('import meter_main')
    assert not (dev / 'main.off').exists()
    assert (dev / 'config.json').read_text() == cfg.read_text()
    assert (dev / 'state' / 'keystore.0').read_text() == 'keys'
    built = {d for s, d in mpy_build.board_sources(board, tuple(w for w in with_.split(',') if w))}
    assert any(d.startswith('lib/dlms_pk/') for d in built) == (with_ == 'pk')
    on_device = set()
    for dirpath, _, files in os.walk(dev / 'lib'):
        for f in files:
            on_device.add(os.path.relpath(os.path.join(dirpath, f), dev))
    assert on_device == {d[:-3] + '.mpy' for d in built}


def test_make_deploy_refuses_an_unknown_board():
    proc = subprocess.run(['make', '-s', 'deploy', 'BOARD=host', 'MPREMOTE=false'], cwd=_ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)
    assert proc.returncode != 0 and b'usage: make deploy BOARD=esp32|rp2040' in proc.stdout


class _Manifest:
    """The parts of MicroPython's tools/manifestfile.py API a board manifest uses, with its
    semantics: relative paths resolve against the running manifest's directory (the working
    directory meanwhile); include() of a file runs it (a `$(...)` path is only recorded);
    add_library() names a directory and require(name, library=) runs the manifest.py of the
    first directory called `name` below it; package() without files takes every .py."""

    def __init__(self):
        self.frozen = {}          # module path on the board -> source file
        self.included = []        # $(...) includes, and every require()d package
        self.libraries = {}
        self._visited = set()

    def api(self):
        return {'include': self.include, 'package': self.package, 'module': self.module,
                'metadata': lambda **kw: None, 'require': self.require,
                'add_library': self.add_library, 'options': None}

    def run(self, path):
        path = os.path.abspath(path)
        if path in self._visited:
            return
        self._visited.add(path)
        cwd = os.getcwd()
        os.chdir(os.path.dirname(path))
        try:
            with open(path) as f:
                exec(f.read(), self.api())
        finally:
            os.chdir(cwd)

    def include(self, path):
        if path.startswith('$('):
            self.included.append(path)
        else:
            self.run(os.path.join(path, 'manifest.py') if os.path.isdir(path) else path)

    def add_library(self, library, library_path, prepend=False):
        self.libraries[library] = os.path.abspath(library_path)

    def require(self, name, library=None, **kw):
        self.included.append('require:' + name)
        assert library in self.libraries, 'require(%r) of an unknown library %r' % (name, library)
        for root, _, names in os.walk(self.libraries[library]):
            if os.path.basename(root) == name and 'manifest.py' in names:
                self.run(os.path.join(root, 'manifest.py'))
                return
        raise AssertionError('package %r not in library %r' % (name, library))

    def package(self, package_path, files=None, base_path='.', opt=None):
        base = os.path.abspath(base_path)
        if files is None:
            for dirpath, _, names in os.walk(os.path.join(base, package_path)):
                for n in names:
                    if n.endswith('.py'):
                        full = os.path.join(dirpath, n)
                        self.frozen[os.path.relpath(full, base)] = full
        else:
            for n in files:
                rel = os.path.join(package_path, n)
                self.frozen[rel] = os.path.join(base, rel)

    def module(self, module_path, base_path='.', opt=None):
        self.frozen[module_path] = os.path.join(os.path.abspath(base_path), module_path)


@pytest.mark.parametrize('board', mpy_build.BOARDS)
@pytest.mark.parametrize('manifest,with_,packages', [
    ('manifest.py', (), ['dlms']),
    ('manifest_pk.py', ('pk',), ['dlms', 'dlms_pk']),
])
def test_manifest_freezes_what_deploy_copies_but_main(board, manifest, with_, packages):
    m = _Manifest()
    m.run(os.path.join(_ROOT, 'boards', board, manifest))
    # the port's own (asyncio ...), then the library's packages by require()
    assert m.included[0] == '$(PORT_DIR)/boards/manifest.py'
    assert sorted(set(i[len('require:'):] for i in m.included[1:])) == packages
    for rel, src in m.frozen.items():
        assert os.path.isfile(src), src
    deployed = {d[len('lib/'):]: os.path.realpath(s)
                for s, d in mpy_build.board_sources(board, with_)}
    deployed.pop('meter_main.py')
    assert {k: os.path.realpath(v) for k, v in m.frozen.items()} == deployed


def test_every_optional_package_has_a_manifest_that_requires_the_core():
    for name in mpy_build.CORE + tuple(mpy_build.OPTIONAL.values()):
        m = _Manifest()
        m.add_library('meter', os.path.join(_ROOT, 'manifests'))
        m.require(name, library='meter')
        files = set(m.frozen)
        assert any(f.startswith(name + '/') for f in files), name
        if name not in mpy_build.CORE:
            assert 'require:dlms' in m.included
        want = {'%s/%s' % (name, rel) for _, rel in mpy_build._sources('lib/' + name)}
        assert want <= files


@pytest.mark.parametrize('package_json,package', [('package.json', 'dlms'),
                                                  ('package-pk.json', 'dlms_pk')])
def test_package_json_installs_the_whole_library_with_mip(package_json, package):
    with open(os.path.join(_ROOT, package_json)) as f:
        pkg = json.load(f)
    assert isinstance(pkg['version'], str) and pkg['deps'] == []
    urls = dict(pkg['urls'])
    assert len(urls) == len(pkg['urls'])
    lib = set()
    for dirpath, dirnames, names in os.walk(os.path.join(_ROOT, 'lib', package)):
        dirnames[:] = [d for d in dirnames if d != '__pycache__']
        for n in names:
            if n.endswith('.py'):
                lib.add(os.path.relpath(os.path.join(dirpath, n), os.path.join(_ROOT, 'lib')))
    assert set(urls) == lib                           # every module, installed as dlms/...
    for dst, src in urls.items():
        assert src == 'lib/' + dst and os.path.isfile(os.path.join(_ROOT, src))


class _FakeTransport:
    """The calls mpremote's mip installer makes on a board, into a dict."""

    def __init__(self):
        self.files = {}
        self.dirs = set()

    def fs_exists(self, path):
        return path in self.dirs or path in self.files

    def fs_mkdir(self, path):
        self.dirs.add(path)

    def fs_writefile(self, path, data, progress_callback=None):
        self.files[path] = data


def test_mpremote_mip_install_of_package_json_writes_the_library_to_lib(capsys):
    """`mpremote mip install ./package.json` through mpremote's own installer, with a stand-in
    for the board: every module lands under /lib/dlms with the repository's content."""
    from mpremote import mip
    t = _FakeTransport()
    mip._install_package(t, os.path.join(_ROOT, 'package.json'), mip._PACKAGE_INDEX, '/lib',
                         None, True)
    with open(os.path.join(_ROOT, 'package.json')) as f:
        urls = json.load(f)['urls']
    assert set(t.files) == {'/lib/' + dst for dst, _ in urls}
    for dst, src in urls:
        with open(os.path.join(_ROOT, src), 'rb') as f:
            assert t.files['/lib/' + dst] == f.read()
    assert {'/lib', '/lib/dlms', '/lib/dlms/cosem'} <= t.dirs
