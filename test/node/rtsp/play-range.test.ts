// PLAY's Range header against the session's SDP range. A live session (`a=range:npt=now-`) gets none: gst-rtsp-server
// takes `Range: npt=0.000-` as a flushing seek of the media, and on a media shared between sessions (one camera, many
// viewers) the flush drops the packets in flight of every session already playing — the start-up loss of issue 12.
import { describe, expect, it } from 'vitest';
import { RtspClient } from '../../../src/node/index.js';
import { closedAfterEach, h264Sdp, ScriptedServer } from './scripted-server.js';

const { servers, clients } = closedAfterEach<RtspClient>();

/** A server whose DESCRIBE answers h264Sdp() with `range` (a session-level `a=range:` value) added, or none. */
async function serveWithRange(range: string | undefined): Promise<ScriptedServer> {
  const sdp = range === undefined ? h264Sdp() : h264Sdp().replace('a=control:*\r\n', `a=control:*\r\na=range:${range}\r\n`);
  const server = await ScriptedServer.start({
    onRequest: (req, conn, next) => {
      if (req.method !== 'DESCRIBE') return next();
      return conn.reply(req, 200, [['Content-Type', 'application/sdp'], ['Content-Base', server.url('/stream') + '/']], sdp);
    },
  });
  servers.push(server);
  return server;
}

async function playRange(range: string | undefined): Promise<string | undefined> {
  const server = await serveWithRange(range);
  const client = await RtspClient.open(server.url('/stream'), { keepAlive: false, receiverReports: false, requestTimeoutMs: 3000 });
  clients.push(client);
  const play = server.requests.find((r) => r.method === 'PLAY');
  expect(play).toBeDefined();
  return play!.headers.get('range');
}

describe('PLAY Range', () => {
  it('is left out for a live session (a=range:npt=now-)', async () => {
    expect(await playRange('npt=now-')).toBeUndefined();
  });

  it('asks for the start of a stored session (a=range:npt=0-30)', async () => {
    expect(await playRange('npt=0-30')).toBe('npt=0.000-');
  });

  it('asks for the start when the SDP gives no range', async () => {
    expect(await playRange(undefined)).toBe('npt=0.000-');
  });
});
