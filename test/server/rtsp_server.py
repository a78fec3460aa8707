#!/usr/bin/python3
"""Test RTSP server for wasm-rtsp, built on GStreamer's own gst-rtsp-server (through gi).

Run with Debian's /usr/bin/python3 (it has `gi`). See docs/test-server.md for the options and the events.

stdout carries one JSON object per line, one per event (the first is {"event": "ready", "ready": true, "port": N});
human-readable logs go to stderr.

Why the custom session timeout: stock gst-rtsp-server counts every TCP write it makes (the interleaved media itself)
as a keep-alive, so a TCP client that never sends a request is never cut off. Real cameras do cut such clients off
(RFC 2326 section 12.37: the session times out when the *client* stays silent). This server enforces
--session-timeout on RTSP requests: a session that receives no request carrying its Session id within the timeout
is removed and its connection closed, over TCP and UDP alike.
"""

import argparse
import json
import os
import signal
import sys
import time
import warnings
from urllib.parse import urlsplit

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# How often the session-timeout watchdog looks at the sessions; bounds the timeout's overshoot.
WATCHDOG_INTERVAL_MS = 200
# How long shutdown waits for client connections to close before exiting anyway.
SHUTDOWN_GRACE_MS = 500
# The role granted to authenticated users; it may access and construct every mount point.
USER_ROLE = 'user'
# Methods whose pre-<method>-request signal logs the request (they fire after authentication passed).
REQUEST_SIGNAL_METHODS = ('options', 'describe', 'setup', 'play', 'pause', 'teardown', 'get-parameter',
                          'set-parameter', 'announce', 'record')


# PyGObject cannot marshal the GstRTSPContext of the send-message signal and GLib warns once per process; the
# handler does not use that argument, so the warning is noise on stderr.
warnings.filterwarnings('ignore', message='.*G_VALUE_HOLDS_OBJECT.*')


def exit_with_parent():
    """Linux: get SIGTERM when the parent process dies, so a crashed test run never leaves a server behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError) as error:
        log('cannot follow the parent process: %s' % error)
        return
    if os.getppid() == 1:
        # The parent died before prctl took effect.
        os.kill(os.getpid(), signal.SIGTERM)


def log(message):
    """Human-readable log line on stderr (stdout is reserved for JSON events)."""
    sys.stderr.write('rtsp_server: %s\n' % message)
    sys.stderr.flush()


def emit(event, **fields):
    """One JSON event per line on stdout, flushed so a reader sees it at once."""
    record = {'event': event, 't': round(time.monotonic(), 3)}
    record.update(fields)
    sys.stdout.write(json.dumps(record, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Test RTSP server (gst-rtsp-server) for wasm-rtsp')
    parser.add_argument('--port', type=int, default=8554, help='TCP port, 0 picks a free one (default 8554)')
    parser.add_argument('--address', default='127.0.0.1', help='address to listen on (default 127.0.0.1)')
    parser.add_argument('--session-timeout', type=float, default=60.0,
                        help='seconds without an RTSP request before a session is torn down (default 60)')
    parser.add_argument('--auth', choices=('none', 'basic', 'digest'), default='none')
    parser.add_argument('--user', default='user')
    parser.add_argument('--password', default='password')
    parser.add_argument('--ready-file', help='also write the ready JSON object to this file')
    parser.add_argument('--width', type=int, default=320, help='encoded streams (/h264, /h265) width')
    parser.add_argument('--height', type=int, default=240, help='encoded streams height')
    parser.add_argument('--framerate', type=int, default=30, help='encoded streams frames per second')
    parser.add_argument('--key-int', type=int, default=30, help='encoded streams keyframe interval in frames')
    parser.add_argument('--bitrate', type=int, default=0,
                        help='encoded streams target bitrate in kbit/s (x264enc/x265enc bitrate; default: the encoder\'s)')
    parser.add_argument('--raw-width', type=int, default=320, help='/raw width (1280 for the 720p stress)')
    parser.add_argument('--raw-height', type=int, default=240, help='/raw height')
    parser.add_argument('--raw-framerate', type=int, default=30, help='/raw frames per second')
    parser.add_argument('--raw-format', default='UYVY', help='/raw pixel format for rtpvrawpay (default UYVY)')
    parser.add_argument('--exit-with-parent', action='store_true',
                        help='terminate when the parent process dies (Linux; the test harness sets it)')
    parser.add_argument('--shared', action='store_true',
                        help='share one pipeline per mount between clients (default: one per client)')
    parser.add_argument('--backlog', type=int, default=5,
                        help='listen backlog (default 5, gst-rtsp-server\'s own): hundreds of clients connecting in '
                             'the same instant need more')
    return parser.parse_args(argv)


def element_exists(name):
    return Gst.ElementFactory.find(name) is not None


def mount_launch_lines(args):
    """The gst-launch lines of the mount points, by path; /h265 and /aac only when their encoder and payloader exist."""
    video_caps = 'video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1' % (
        args.width, args.height, args.framerate)
    # ultrafast + zerolatency leave CPU to the test itself; key-int-max keeps the first picture close.
    bitrate = ' bitrate=%d' % args.bitrate if args.bitrate > 0 else ''
    mounts = {
        '/h264': ('( videotestsrc is-live=true ! %s ! x264enc tune=zerolatency speed-preset=ultrafast '
                  'key-int-max=%d%s ! rtph264pay name=pay0 pt=96 config-interval=1 )') % (
                      video_caps, args.key_int, bitrate),
        '/raw': ('( videotestsrc is-live=true ! video/x-raw,format=%s,width=%d,height=%d,framerate=%d/1 '
                 '! rtpvrawpay name=pay0 pt=96 )') % (
                     args.raw_format, args.raw_width, args.raw_height, args.raw_framerate),
    }
    if element_exists('voaacenc') and element_exists('rtpmp4gpay'):
        # AAC-hbr (RFC 3640) at 44.1 kHz mono: 43 access units a second.
        mounts['/aac'] = ('( audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=44100,channels=1 ! voaacenc '
                          '! rtpmp4gpay name=pay0 pt=97 )')
    if element_exists('x265enc') and element_exists('rtph265pay'):
        mounts['/h265'] = ('( videotestsrc is-live=true ! %s ! x265enc tune=zerolatency speed-preset=ultrafast '
                           'key-int-max=%d%s ! rtph265pay name=pay0 pt=96 config-interval=1 )') % (
                               video_caps, args.key_int, bitrate)
    return mounts


def header_value(message, field):
    """First value of a header of a GstRTSPMessage, or None."""
    result, value = message.get_header(field, 0)
    return value if result == GstRtsp.RTSPResult.OK else None


def session_id_of(message):
    """The Session header's id without its ';timeout=' parameter, or None."""
    value = header_value(message, GstRtsp.RTSPHeaderField.SESSION)
    return value.split(';', 1)[0].strip() if value else None


class TestRtspServer:
    """gst-rtsp-server plus request-based session timeouts and JSON events."""

    def __init__(self, args):
        self.args = args
        self.timeout_s = args.session_timeout
        self.loop = GLib.MainLoop()
        self.next_client_id = 1
        # client id -> {'client', 'last_request', 'sessions': set of session ids}
        self.clients = {}
        # session id -> {'session', 'client_id', 'last_request', 'teardown': bool, 'timed_out': bool}
        self.sessions = {}
        self.stopping = False

        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(args.address)
        self.server.set_service(str(args.port))
        self.server.set_backlog(args.backlog)
        self.pool = self.server.get_session_pool()
        self.pool.connect('session-removed', self.on_session_removed)
        self.server.connect('client-connected', self.on_client_connected)

        self.mount_paths = []
        mounts = self.server.get_mount_points()
        permissions = self.make_permissions() if args.auth != 'none' else None
        for path, launch in mount_launch_lines(args).items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch)
            factory.set_shared(args.shared)
            factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
            if permissions is not None:
                factory.set_permissions(permissions)
            mounts.add_factory(path, factory)
            self.mount_paths.append(path)
        if args.auth != 'none':
            self.server.set_auth(self.make_auth())

    def make_permissions(self):
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(Gst.Structure.new_from_string(
            '%s, media.factory.access=(boolean)true, media.factory.construct=(boolean)true' % USER_ROLE))
        return permissions

    def make_auth(self):
        """GstRTSPAuth with one user; no default token, so anonymous requests get 401."""
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string('media.factory.role', USER_ROLE)
        if self.args.auth == 'basic':
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(self.args.user, self.args.password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        else:
            auth.add_digest(self.args.user, self.args.password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        return auth

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self):
        # Handlers first: a harness may send SIGTERM the moment it reads the ready line.
        for signum in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self.on_stop_signal, signum)
        try:
            self.server.attach(None)
        except GLib.Error as error:
            log('cannot listen on %s:%s: %s' % (self.args.address, self.args.port, error.message))
            return False
        port = self.server.get_bound_port()
        ready = {'ready': True, 'port': port, 'address': self.args.address, 'mounts': self.mount_paths,
                 'session_timeout': self.timeout_s, 'auth': self.args.auth}
        if self.args.ready_file:
            temporary = self.args.ready_file + '.tmp'
            with open(temporary, 'w') as handle:
                handle.write(json.dumps(ready) + '\n')
            os.replace(temporary, self.args.ready_file)
        emit('ready', **ready)
        log('listening on rtsp://%s:%d %s (auth %s, session timeout %gs)' % (
            self.args.address, port, ' '.join(self.mount_paths), self.args.auth, self.timeout_s))
        GLib.timeout_add(WATCHDOG_INTERVAL_MS, self.watchdog)
        return True

    def on_stop_signal(self, signum):
        if self.stopping:
            return GLib.SOURCE_REMOVE
        self.stopping = True
        log('signal %d: stopping' % signum)
        # Closing the clients tears their media down; give that a moment, then leave the loop.
        for entry in list(self.clients.values()):
            entry['client'].close()
        GLib.timeout_add(SHUTDOWN_GRACE_MS, self.loop.quit)
        return GLib.SOURCE_REMOVE

    def run(self):
        self.loop.run()
        emit('stopped')

    # --- clients and requests --------------------------------------------------------------------------------

    def on_client_connected(self, server, client):
        client_id = self.next_client_id
        self.next_client_id += 1
        connection = client.get_connection()
        remote = connection.get_ip() if connection is not None else None
        self.clients[client_id] = {'client': client, 'last_request': time.monotonic(), 'sessions': set()}
        emit('client-connected', client=client_id, remote=remote)
        client.connect('closed', self.on_client_closed, client_id)
        client.connect('new-session', self.on_new_session, client_id)
        client.connect('send-message', self.on_send_message, client_id)
        for method in REQUEST_SIGNAL_METHODS:
            client.connect('pre-%s-request' % method, self.on_request, client_id)

    def on_client_closed(self, client, client_id):
        entry = self.clients.pop(client_id, None)
        emit('client-closed', client=client_id,
             sessions=sorted(entry['sessions']) if entry else [])

    def on_new_session(self, client, session, client_id):
        session_id = session.get_sessionid()
        # The library's own expiry counts media writes as activity; ours counts requests only, so keep the
        # library from expiring the session and let the watchdog decide. The timeout still goes to the client
        # in the Session header (";timeout=N"), so well-behaved clients know when to send keep-alives.
        session.set_timeout(max(1, int(round(self.timeout_s))))
        session.prevent_expire()
        self.sessions[session_id] = {'session': session, 'client_id': client_id, 'last_request': time.monotonic(),
                                     'teardown': False, 'timed_out': False}
        entry = self.clients.get(client_id)
        if entry is not None:
            entry['sessions'].add(session_id)
        emit('session-new', client=client_id, session=session_id, timeout=self.timeout_s)

    def on_request(self, client, context, client_id):
        """Every request that passed authentication, before the server acts on it: log it, count it as activity."""
        request = context.request
        result, method, uri, _version = request.parse_request()
        if result != GstRtsp.RTSPResult.OK:
            return GstRtsp.RTSPStatusCode.OK
        now = time.monotonic()
        method_name = GstRtsp.rtsp_method_as_text(method)
        session_id = session_id_of(request)
        entry = self.clients.get(client_id)
        if entry is not None:
            entry['last_request'] = now
        state = self.sessions.get(session_id) if session_id is not None else None
        if state is not None:
            state['last_request'] = now
            if method == GstRtsp.RTSPMethod.TEARDOWN:
                state['teardown'] = True
        cseq = header_value(request, GstRtsp.RTSPHeaderField.CSEQ)
        # Only the path of the URL: rtsp://user:password@host/... must never reach a log.
        fields = {'client': client_id, 'method': method_name, 'path': urlsplit(uri).path, 'session': session_id,
                  'cseq': int(cseq) if cseq and cseq.isdigit() else None}
        if method == GstRtsp.RTSPMethod.SETUP:
            # Shows whether the client asked for TCP interleaving or UDP ports.
            fields['transport'] = header_value(request, GstRtsp.RTSPHeaderField.TRANSPORT)
        emit('request', **fields)
        if method == GstRtsp.RTSPMethod.TEARDOWN:
            emit('teardown', **fields)
        return GstRtsp.RTSPStatusCode.OK

    def on_send_message(self, client, _context, response, client_id):
        """Every response the server sends, including the 401s and 454s of requests that never reach on_request.

        PyGObject cannot marshal this signal's GstRTSPContext (it arrives as None), so the response is all we see;
        a test pairs it with its request by cseq.
        """
        if response is None or response.get_type() != GstRtsp.RTSPMsgType.RESPONSE:
            return
        result, code, reason, _version = response.parse_response()
        if result != GstRtsp.RTSPResult.OK:
            return
        cseq = header_value(response, GstRtsp.RTSPHeaderField.CSEQ)
        emit('response', client=client_id, status=int(code), reason=reason, session=session_id_of(response),
             cseq=int(cseq) if cseq and cseq.isdigit() else None)

    def on_session_removed(self, pool, session):
        session_id = session.get_sessionid()
        state = self.sessions.pop(session_id, None)
        if state is None:
            emit('session-removed', session=session_id, reason='unknown')
            return
        entry = self.clients.get(state['client_id'])
        if entry is not None:
            entry['sessions'].discard(session_id)
        reason = 'timeout' if state['timed_out'] else 'teardown' if state['teardown'] else 'closed'
        emit('session-removed', client=state['client_id'], session=session_id, reason=reason)

    # --- request-based session timeout -----------------------------------------------------------------------

    def watchdog(self):
        now = time.monotonic()
        for session_id, state in list(self.sessions.items()):
            idle = now - state['last_request']
            if idle < self.timeout_s or state['timed_out']:
                continue
            state['timed_out'] = True
            client_id = state['client_id']
            emit('session-timeout', client=client_id, session=session_id, idle=round(idle, 3))
            log('session %s: no request for %.1fs, tearing it down' % (session_id, idle))
            session = state['session']
            session.allow_expire()
            self.pool.remove(session)
            entry = self.clients.get(client_id)
            # Close the connection unless it still carries another live session.
            if entry is not None and not (entry['sessions'] - {session_id}):
                entry['client'].close()
        # A connection that never set up a session and went silent is closed after the same timeout.
        for client_id, entry in list(self.clients.items()):
            if entry['sessions'] or now - entry['last_request'] < self.timeout_s or entry.get('idle_closed'):
                continue
            entry['idle_closed'] = True
            emit('client-idle-timeout', client=client_id, idle=round(now - entry['last_request'], 3))
            entry['client'].close()
        return GLib.SOURCE_CONTINUE


def main(argv):
    args = parse_args(argv)
    if args.exit_with_parent:
        exit_with_parent()
    Gst.init(None)
    server = TestRtspServer(args)
    if not server.start():
        return 2
    server.run()
    return 0


if __name__ == '__main__':
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Media threads may still be winding down; do not let interpreter teardown race them.
    os._exit(code)
