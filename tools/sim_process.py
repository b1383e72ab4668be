"""Start and stop the virtual meter (firmware/ on the MicroPython unix port) from host code.

Used by the interop tests, the benchmark and anyone scripting the virtual meter:

    with VirtualMeter() as vm:
        ... connect to ('127.0.0.1', vm.port) ...

    with VirtualMeter(hdlc_port=True, optical_pty=True, rs485_pty=True) as vm:
        ... HDLC over TCP on vm.hdlc_port, serial devices vm.optical_pty and vm.rs485_pty ...
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, '.venv', 'bin', 'micropython')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


_PTY_LINE = re.compile(r'\[meter\] (optical|rs485): pseudo-terminal (\S+)')


class MeterProcess:
    """firmware/main.py in a MicroPython process, its output collected line by line; started
    once it prints that it is ready. A subclass says how: command(), environment(), `cwd`, and
    what a line tells (on_line)."""

    cwd = ROOT

    def __init__(self):
        self.proc = None
        self.lines = []
        self._ready = threading.Event()

    def command(self):
        raise NotImplementedError

    def environment(self):
        return dict(os.environ)

    def on_line(self, line):
        pass

    def start(self, timeout=30):
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.environment(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError('meter did not start:\n' + self.output())
        if self.proc.poll() is not None:
            raise RuntimeError('meter exited:\n' + self.output())
        return self

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            self.lines.append(line)
            self.on_line(line)
            if line == '[meter] ready':
                self._ready.set()
        self._ready.set()

    def output(self):
        return '\n'.join(self.lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        return self.proc.wait(timeout)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class VirtualMeter(MeterProcess):
    """The virtual meter with the host board profile. `hdlc_port`: True (a free port) or a port
    number for HDLC over TCP (--hdlc-port), None for none. `optical_pty` / `rs485_pty`: ask for
    those pseudo-terminals; their paths, printed by the meter at start, are in `optical_pty` /
    `rs485_pty` after start() (else None)."""

    def __init__(self, port=None, state_dir=None, heap=None, config=None, extra_args=(),
                 hdlc_port=None, optical_pty=False, rs485_pty=False):
        MeterProcess.__init__(self)
        self.port = port or free_port()
        self.hdlc_port = free_port() if hdlc_port is True else hdlc_port
        self._want_ptys = (('optical', optical_pty), ('rs485', rs485_pty))
        self.optical_pty = None
        self.rs485_pty = None
        self._tmp = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix='meter-state-')
            state_dir = os.path.join(self._tmp.name, 'state')
        self.state_dir = state_dir
        self.heap = heap
        self.config = config
        self.extra_args = list(extra_args)

    def command(self):
        cmd = [MICROPYTHON]
        if self.heap:
            cmd += ['-X', 'heapsize=%s' % self.heap]
        cmd += [os.path.join(ROOT, 'firmware', 'main.py'), '--wrapper-port', str(self.port),
                '--state', self.state_dir]
        if self.config:
            cmd += ['--config', self.config]
        if self.hdlc_port:
            cmd += ['--hdlc-port', str(self.hdlc_port)]
        for name, wanted in self._want_ptys:
            if wanted:
                cmd.append('--%s-pty' % name)
        return cmd + self.extra_args

    def environment(self):
        env = dict(os.environ)
        # MICROPYPATH replaces the default path: keep '.frozen' (asyncio lives there)
        env['MICROPYPATH'] = os.pathsep.join(
            ['.frozen'] + [os.path.join(ROOT, d) for d in ('lib', 'firmware', 'boards/host')])
        return env

    def on_line(self, line):
        m = _PTY_LINE.match(line)
        if m:
            setattr(self, m.group(1) + '_pty', m.group(2))

    def stop(self):
        MeterProcess.stop(self)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


if __name__ == '__main__':
    with VirtualMeter(port=int(sys.argv[1]) if len(sys.argv) > 1 else None) as vm:
        print('\n'.join(vm.lines))
        try:
            while vm.alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
