import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRtspUrl, resolveControl, controlBase, redactUrl, percentDecode, RtspUrlError } from '../../../src/core/rtsp/url.js';

describe('parseRtspUrl', () => {
  it.each([
    ['plain, default port', 'rtsp://192.168.1.10/stream1', { scheme: 'rtsp', host: '192.168.1.10', port: 554, path: '/stream1', explicitPort: false }],
    ['explicit port and query', 'rtsp://cam.local:8554/cam/realmonitor?channel=1&subtype=0',
      { host: 'cam.local', port: 8554, path: '/cam/realmonitor?channel=1&subtype=0', explicitPort: true }],
    ['rtsps default port 322', 'rtsps://cam.example.com/live', { scheme: 'rtsps', port: 322, path: '/live' }],
    ['uppercase scheme and host', 'RTSP://CAM.Example.COM/Live', { scheme: 'rtsp', host: 'cam.example.com', path: '/Live' }],
    ['IPv6 literal', 'rtsp://[fe80::1]:8554/s', { host: 'fe80::1', port: 8554, path: '/s' }],
    ['IPv6 literal, default port', 'rtsp://[2001:db8::42]/s', { host: '2001:db8::42', port: 554 }],
    ['no path', 'rtsp://cam', { host: 'cam', path: '' }],
    ['query without a path', 'rtsp://cam?x=1', { host: 'cam', path: '?x=1' }],
    ['fragment dropped', 'rtsp://cam/s#frag', { path: '/s' }],
  ])('%s', (_name, url, want) => {
    expect(parseRtspUrl(url)).toMatchObject(want);
  });

  it.each([
    ['user and password', 'rtsp://admin:secret@cam/s', { username: 'admin', password: 'secret' }],
    ['percent-encoded password', 'rtsp://admin:p%40ss%3Aw%2Fd@cam/s', { username: 'admin', password: 'p@ss:w/d' }],
    ['UTF-8 percent-encoding', 'rtsp://j%C3%BCrgen:%E2%82%AC@cam/', { username: 'jürgen', password: '€' }],
    ['unescaped @ in the password', 'rtsp://admin:p@ss@10.0.0.2/s', { username: 'admin', password: 'p@ss' }],
    ['unescaped # and ? in the password', 'rtsp://admin:a#b?c@10.0.0.2:554/s', { username: 'admin', password: 'a#b?c' }],
    ['user without password', 'rtsp://viewer@cam/s', { username: 'viewer', password: '' }],
    ['empty password', 'rtsp://viewer:@cam/s', { username: 'viewer', password: '' }],
    ['stray % kept literally', 'rtsp://u:100%@cam/s', { username: 'u', password: '100%' }],
    ['IPv6 with credentials', 'rtsp://u:p@[::1]:554/s', { username: 'u', password: 'p' }],
    // Issue 8: a '/' in the password was taken for the start of the path ("port is not a number").
    ['unescaped / in the password', 'rtsp://admin:pa/ss@10.0.0.2/s', { username: 'admin', password: 'pa/ss' }],
    ['unescaped / with a port', 'rtsp://admin:a/b@cam:8554/s', { username: 'admin', password: 'a/b' }],
    ['/, @ and : together', 'rtsp://admin:x@y/z:w@cam/s', { username: 'admin', password: 'x@y/z:w' }],
    ['password of digits and /', 'rtsp://admin:123/45@cam/s', { username: 'admin', password: '123/45' }],
    ['/ in the password, no path', 'rtsp://admin:a/b@cam', { username: 'admin', password: 'a/b' }],
    ['/ in the password, IPv6 host', 'rtsp://admin:a/b@[::1]:554/s', { username: 'admin', password: 'a/b' }],
    ['percent-encoded /, @ and :', 'rtsp://admin:a%2Fb%40c%3Ad@cam/s', { username: 'admin', password: 'a/b@c:d' }],
  ])('credentials: %s', (_name, url, want) => {
    const u = parseRtspUrl(url);
    expect(u.credentials).toEqual(want);
  });

  it.each([
    ['rtsp://admin:pa/ss@10.0.0.2/s', '10.0.0.2', 554, '/s'],
    ['rtsp://admin:a/b@cam:8554/live/ch1?x=1', 'cam', 8554, '/live/ch1?x=1'],
    ['rtsp://admin:x@y/z:w@cam/s', 'cam', 554, '/s'],
    ['rtsp://admin:a/b@cam', 'cam', 554, ''],
  ])('host and path after a password with "/": %s', (url, host, port, path) => {
    expect(parseRtspUrl(url)).toMatchObject({ host, port, path });
  });

  it('keeps an @ in the path when the authority has no userinfo', () => {
    // No ':' before the first '/': what precedes the '@' cannot be user:password.
    expect(parseRtspUrl('rtsp://cam/live/a@b')).toMatchObject({ host: 'cam', path: '/live/a@b' });
    expect(parseRtspUrl('rtsp://cam/live/a@b').credentials).toBeUndefined();
    // The last '@' is not followed by a well-formed host, so the one before it ends the userinfo.
    expect(parseRtspUrl('rtsp://u:p@cam/x@[bad').credentials).toEqual({ username: 'u', password: 'p' });
  });

  it('gives the URL back without credentials, keeping the port as written', () => {
    expect(String(parseRtspUrl('rtsp://admin:secret@Cam:554/s?x=1'))).toBe('rtsp://cam:554/s?x=1');
    expect(String(parseRtspUrl('rtsp://admin:secret@cam/s'))).toBe('rtsp://cam/s');
    expect(String(parseRtspUrl('rtsp://u:p@[::1]:8554/s'))).toBe('rtsp://[::1]:8554/s');
  });

  it('keeps the credentials out of JSON, inspection and enumeration', () => {
    const u = parseRtspUrl('rtsp://admin:hunter2@cam/s');
    expect(JSON.stringify(u)).toBe('"rtsp://cam/s"');
    expect(inspect(u)).not.toContain('hunter2');
    expect(Object.keys(u)).not.toContain('credentials');
    expect({ ...u }).not.toHaveProperty('credentials');
    expect(u.credentials?.password).toBe('hunter2');
  });

  it.each([
    ['http scheme', 'http://cam/s', 'BAD_URL_SCHEME'],
    ['not a URL', 'cam/s', 'BAD_URL'],
    ['empty host', 'rtsp:///s', 'BAD_URL_HOST'],
    ['unclosed IPv6', 'rtsp://[::1/s', 'BAD_URL_HOST'],
    ['garbage after IPv6', 'rtsp://[::1]x/s', 'BAD_URL_HOST'],
    ['port zero', 'rtsp://cam:0/s', 'BAD_URL_PORT'],
    ['port too big', 'rtsp://cam:65536/s', 'BAD_URL_PORT'],
    ['non-numeric port', 'rtsp://cam:abc/s', 'BAD_URL_PORT'],
    ['space in the path', 'rtsp://cam/a b', 'BAD_URL_PATH'],
  ])('rejects %s', (_name, url, code) => {
    expect(() => parseRtspUrl(url)).toThrow(RtspUrlError);
    try { parseRtspUrl(url); } catch (e) { expect((e as RtspUrlError).code).toBe(code); }
  });

  it('never puts the password in an error', () => {
    for (const url of ['rtsp://admin:topsecret@cam:99999/s', 'rtsp://admin:topsecret@[::1/s', 'http://admin:topsecret@cam/',
      'rtsp://admin:top/secret@cam:99999/s', 'rtsp://admin:top/secret@/s']) {
      try { parseRtspUrl(url); expect.unreachable(); }
      catch (e) {
        const err = e as RtspUrlError;
        expect(err.message + JSON.stringify(err.context)).not.toContain('topsecret');
        expect(String(err.context.url)).toContain('***@');
      }
    }
  });

  it('redactUrl hides userinfo', () => {
    expect(redactUrl('rtsp://a:b@c/d')).toBe('rtsp://***@c/d');
    expect(redactUrl('rtsp://c/d')).toBe('rtsp://c/d');
    expect(redactUrl('rtsp://c/d@e')).toBe('rtsp://c/d@e');
    // A password with '/' and '@' is hidden whole: the last '@' that can end a userinfo wins.
    expect(redactUrl('rtsp://a:b@c/d@e/s')).toBe('rtsp://***@e/s');
    expect(redactUrl('rtsp://a:pa/ss@[::1/s')).toBe('rtsp://***@[::1/s');
  });

  it('regression (fuzz): a URL pasted twice shows neither password', () => {
    const url = 'rtsp://admin:topsecret@rtsp://admin:topsecret@cam/stream';
    expect(redactUrl(url)).not.toContain('topsecret');
    expect(String(parseRtspUrl(url))).not.toContain('topsecret');
  });

  it('percentDecode leaves malformed escapes alone', () => {
    expect(percentDecode('a%2')).toBe('a%2');
    expect(percentDecode('%zz%41')).toBe('%zzA');
  });
});

describe('resolveControl (RFC 2326 §C.1.1)', () => {
  // [control, base, expected]
  const TABLE: [string | undefined, string, string][] = [
    // Absolute control URLs are used as they are.
    ['rtsp://cam/s/trackID=1', 'rtsp://cam/s/', 'rtsp://cam/s/trackID=1'],
    ['rtsp://other:8554/x', 'rtsp://cam/s', 'rtsp://other:8554/x'],
    ['RTSP://cam/s/track1', 'rtsp://cam/s', 'RTSP://cam/s/track1'],
    // '*', empty or absent: the base itself (aggregate control).
    ['*', 'rtsp://cam/s/', 'rtsp://cam/s/'],
    ['', 'rtsp://cam/s', 'rtsp://cam/s'],
    [undefined, 'rtsp://cam/s', 'rtsp://cam/s'],
    // Relative against a base ending in '/': appended.
    ['trackID=1', 'rtsp://cam/s/', 'rtsp://cam/s/trackID=1'],
    // Relative against a base without '/': treated as a directory (GStreamer rtspsrc / FFmpeg behaviour).
    ['trackID=1', 'rtsp://cam/s', 'rtsp://cam/s/trackID=1'],
    ['track1', 'rtsp://10.0.0.2:554/Streaming/Channels/101', 'rtsp://10.0.0.2:554/Streaming/Channels/101/track1'],
    // Dahua-style Content-Base with a query and a trailing '/'.
    ['trackID=0', 'rtsp://10.0.0.3:554/cam/realmonitor?channel=1&subtype=0/', 'rtsp://10.0.0.3:554/cam/realmonitor?channel=1&subtype=0/trackID=0'],
    // A query in the base is kept (strict RFC 3986 would drop it).
    ['stream=0', 'rtsp://cam/live?token=abc', 'rtsp://cam/live?token=abc/stream=0'],
    // An absolute path: on the base's authority.
    ['/media/video1', 'rtsp://cam:8554/s/', 'rtsp://cam:8554/media/video1'],
    // Surrounding whitespace is trimmed.
    ['  track2 ', 'rtsp://cam/s/', 'rtsp://cam/s/track2'],
  ];
  it.each(TABLE)('control %j on base %s → %s', (control, base, want) => {
    expect(resolveControl(control, base)).toBe(want);
  });

  it('picks the base: Content-Base, else Content-Location, else the request URL', () => {
    expect(controlBase('rtsp://cam/s', 'rtsp://cam/s/', 'rtsp://cam/loc/')).toBe('rtsp://cam/s/');
    expect(controlBase('rtsp://cam/s', undefined, 'rtsp://cam/loc/')).toBe('rtsp://cam/loc/');
    expect(controlBase('rtsp://cam/s', '  ', '')).toBe('rtsp://cam/s');
  });
});
