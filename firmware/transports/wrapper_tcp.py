# IEC 62056-47 wrapper over TCP: a thin asyncio adapter between sockets and the sans-IO wrapper
# codec and server sessions. One association per (connection, client wPort).
import asyncio
from dlms import wrapper

_MAX_SESSIONS_PER_CONNECTION = 4
# exception-response: service-not-allowed, pdu-too-long
PDU_TOO_LONG = b'\xd8\x01\x04'


async def _serve_connection(server, server_wport, reader, writer, log):
    decoder = wrapper.WrapperDecoder(max_apdu=server.max_pdu + 64)
    sessions = {}
    try:
        while True:
            data = await reader.read(512)
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
                    writer.write(wrapper.encode(dst, src, PDU_TOO_LONG))
                    await writer.drain()
                    continue
                session = sessions.get(src)
                if session is None:
                    if len(sessions) >= _MAX_SESSIONS_PER_CONNECTION:
                        continue
                    session = server.session(src, dst)
                    sessions[src] = session
                reply = session.handle(apdu)
                if reply:
                    writer.write(wrapper.encode(dst, src, reply))
                    session.idle()      # while the reply travels: AES for the next request
                    await writer.drain()
    except wrapper.WrapperError as e:
        log('wrapper: framing error (%s), closing connection' % e)
    except OSError:
        pass
    finally:
        for s in sessions.values():
            s.close()
        try:
            writer.close()
            await writer.wait_closed()
        except Exception:
            pass


async def start(server, host, port, log, server_wport=1):
    async def on_connect(reader, writer):
        await _serve_connection(server, server_wport, reader, writer, log)

    srv = await asyncio.start_server(on_connect, host, port)
    log('wrapper: listening on %s:%d (IEC 62056-47)' % (host, port))
    return srv
