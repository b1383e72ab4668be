# IEC 62056-47 wrapper over TCP: a thin asyncio adapter between the connections of a
# transports/tcp.py listener and the sans-IO wrapper codec and server sessions. One association
# per (connection, client wPort); the connection's end aborts them.
from dlms import wrapper, xdlms
from transports import tcp

_MAX_SESSIONS_PER_CONNECTION = 4


async def _serve_connection(server, server_wport, conn, log):
    decoder = wrapper.WrapperDecoder(max_apdu=server.max_pdu + 64)
    sessions = {}

    def holds_secret():
        for s in sessions.values():
            if s.authenticated:
                return True
        return False
    conn.holds_secret = holds_secret
    try:
        while True:
            data = await conn.read()
            if not data:
                break
            decoder.feed(data)
            while True:
                frame = decoder.next()
                if frame is None:
                    break
                src, dst, apdu = frame
                if dst != server_wport:
                    continue            # not our logical device: no reply
                if apdu is None:        # longer than the meter accepts: skipped unread
                    conn.write(wrapper.encode(dst, src, xdlms.refusal(xdlms.PDU_TOO_LONG)))
                    await conn.drain()
                    continue
                session = sessions.get(src)
                if session is None:
                    if len(sessions) >= _MAX_SESSIONS_PER_CONNECTION:
                        continue
                    session = server.session(src, dst)
                    sessions[src] = session
                reply = session.handle(apdu)
                if reply:
                    conn.write(wrapper.encode(dst, src, reply))
                    session.idle()      # while the reply travels: AES for the next request
                    await conn.drain()
    except wrapper.WrapperError as e:
        log('wrapper: framing error (%s), closing connection' % e)
    except OSError:
        pass
    finally:
        for s in sessions.values():
            s.close()


def start(server, host, port, log, max_connections=4, inactivity_s=180, server_wport=1):
    """The wrapper's listener (transports/tcp.py), started as a task; returns it."""
    async def handler(conn):
        await _serve_connection(server, server_wport, conn, log)

    def on_event(name, detail):
        server.event(name, 0, detail)

    lst = tcp.Listener('wrapper', host, port, handler, log, max_connections, inactivity_s,
                       on_event)
    log('wrapper: listening on %s:%d (IEC 62056-47, at most %d connections, closed after %d s '
        'idle)' % (host, port, lst.max_connections, inactivity_s))
    return lst.start()
