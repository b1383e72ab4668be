"""firmware/supervisor.py and firmware/ports.py under CPython: a meter whose ports cannot serve
for a minute stops feeding its watchdog (the board restarts), or, without a watchdog (the
virtual meter), ends with a fatal error; a serial line whose task fails is started again
(issue 10, flaw 5)."""
import asyncio
import os
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in ('firmware', 'lib'):
    sys.path.insert(0, os.path.join(_ROOT, _p))

import supervisor  # noqa: E402
import ports  # noqa: E402


class _Wdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class _Board:
    NAME = 'test'


def test_the_watchdog_goes_unfed_after_a_minute_without_a_port_that_can_serve():
    log = []
    sup = supervisor.Supervisor(_Board, log.append)
    sup.wdt = _Wdt()
    for _ in range(100):
        sup.second(True)
    assert sup.wdt.feeds == 100
    for _ in range(supervisor.NO_PORT_S - 1):
        sup.second(False)
    assert sup.wdt.feeds == 100 + supervisor.NO_PORT_S - 1
    sup.second(False)
    sup.second(False)
    assert sup.wdt.feeds == 100 + supervisor.NO_PORT_S - 1     # no more: the watchdog fires
    assert any('no port has been able to serve' in line for line in log)
    sup.second(True)                                           # a port came back in time
    assert sup.wdt.feeds == 100 + supervisor.NO_PORT_S


def test_without_a_watchdog_a_minute_without_ports_is_a_fatal_error():
    sup = supervisor.Supervisor(_Board, lambda m: None)
    for _ in range(supervisor.NO_PORT_S - 1):
        sup.second(False)
    with pytest.raises(RuntimeError):
        sup.second(False)


def test_a_failing_serial_line_is_started_again_and_counts_as_serving_while_it_runs():
    runs = []
    log = []

    async def line():
        runs.append(1)
        if len(runs) < 3:
            raise OSError('line gone')
        await asyncio.sleep(10)

    async def main():
        p = ports.Ports()
        p.lines.append(ports._Line(line, 'rs485', log.append))
        await asyncio.sleep(0.1)
        assert not p.serving()                 # failed at once, waiting to start again
        await asyncio.sleep(2.3)
        assert len(runs) == 3 and p.serving()
        p.lines[0].task.cancel()
        await asyncio.sleep(0)
        assert not p.serving()
    asyncio.run(main())
    assert sum('rs485: stopped: OSError' in m for m in log) == 2


def test_a_meter_with_no_port_configured_counts_as_serving():
    assert ports.Ports().serving()
