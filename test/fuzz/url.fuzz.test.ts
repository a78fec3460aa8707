// Fuzzing RTSP URL parsing (src/core/rtsp/url.ts): parseRtspUrl, redactUrl, resolveControl. URLs are generated from
// their parts (credentials percent-encoded or raw with '@', '#', '?', ':' in the password, host names, IPv4 and IPv6
// literals, ports, paths with queries and fragments), then mutated. Properties: a generated URL parses back to its
// parts; the password never shows in toString(), JSON or an error's message and context, whatever the input; mutated
// URLs fail only with RtspUrlError; resolveControl never throws.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRtspUrl, redactUrl, resolveControl, RtspUrlError, RTSP_DEFAULT_PORT, RTSPS_DEFAULT_PORT } from '../../src/core/rtsp/index.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, mutateText, mutationsArb, summary, typed } from './fuzz.js';

/** A password recognisable in any output: long enough that it cannot appear by chance. */
const passwordArb = fc.tuple(
  fc.string({ unit: fc.constantFrom(...'abcXYZ0189@#?:/!$&*()+,;=~._-\u00e9\u20ac'.split('')), minLength: 0, maxLength: 12 }),
  fc.stringMatching(/^[A-Za-z]{4}$/),
).map(([s, tag]) => `Pw${tag}${s}`);
const userArb = fc.oneof(fc.constantFrom('admin', 'user', 'op'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }));
const hostArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}$/),
  fc.ipV4(),
  fc.constantFrom('[::1]', '[fe80::1%25eth0]', '[2001:db8::7]', 'CAMERA.Local'),
);
const pathArb = fc.oneof(
  fc.constant(''),
  // No '@' in paths: after a userinfo or a port it is taken for the end of a password ('/' may be in one), so a path
  // must spell it %40 (src/core/rtsp/url.ts, splitUserinfo).
  fc.array(fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:-]{0,8}$/), { minLength: 1, maxLength: 4 }).map((segs) => '/' + segs.join('/')),
).chain((p) => fc.option(fc.constantFrom('?channel=1&subtype=0', '?a', '')).map((q) => p + (q ?? '')));

interface UrlSpec { scheme: string; user: string | null; password: string; raw: boolean; host: string; port: number | null; path: string; fragment: string | null }

const urlSpecArb: fc.Arbitrary<UrlSpec> = fc.record({
  scheme: fc.constantFrom('rtsp', 'RTSP', 'rtsps', 'Rtsp'),
  user: fc.option(userArb, { freq: 4 }),
  password: passwordArb,
  raw: fc.boolean(),
  host: hostArb,
  port: fc.option(fc.integer({ min: 1, max: 65535 })),
  path: pathArb,
  fragment: fc.option(fc.constantFrom('#frag', '#')),
});

function urlOf(u: UrlSpec): string {
  // Raw passwords may hold '@', '#', '?', ':' and '/' (not '%', which starts an escape).
  const userinfo = u.user === null ? '' : `${encodeURIComponent(u.user)}:${u.raw ? u.password : encodeURIComponent(u.password)}@`;
  return `${u.scheme}://${userinfo}${u.host}${u.port === null ? '' : ':' + u.port}${u.path}${u.fragment ?? ''}`;
}

/** Everything a URL error or a parsed URL could show to a log. */
function visible(x: unknown): string {
  if (x instanceof Error) return `${x.message} ${JSON.stringify((x as RtspUrlError).context)} ${String(x.stack)}`;
  return `${String(x)} ${JSON.stringify(x)}`;
}

describe('fuzz: RTSP URLs', () => {
  afterAll(() => console.log(summary()));

  it('a generated URL parses back to its parts and never shows the password', () => {
    fuzz('url generated', 0x5eed_0401, 3000, fc.property(urlSpecArb, (u) => {
      const url = urlOf(u);
      const r = parseRtspUrl(url);
      const scheme = u.scheme.toLowerCase();
      expect(r.scheme).toBe(scheme);
      expect(r.host).toBe((u.host.startsWith('[') ? u.host.slice(1, -1) : u.host).toLowerCase());
      expect(r.port).toBe(u.port ?? (scheme === 'rtsps' ? RTSPS_DEFAULT_PORT : RTSP_DEFAULT_PORT));
      expect(r.explicitPort).toBe(u.port !== null);
      expect(r.path).toBe(u.path);
      if (u.user === null) expect(r.credentials).toBeUndefined();
      else expect(r.credentials).toEqual({ username: u.user, password: u.password });
      if (u.user !== null) {
        expect(visible(r)).not.toContain(u.password);
        expect(visible(r)).not.toContain(encodeURIComponent(u.password));
      }
      // toString() is itself a URL that parses to the same place.
      const again = parseRtspUrl(r.toString());
      expect([again.scheme, again.host, again.port, again.path]).toEqual([r.scheme, r.host, r.port, r.path]);
      expect(again.credentials).toBeUndefined();
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated URLs (and raw passwords with an unescaped "/") fail only with RtspUrlError, never showing the password', () => {
    const codes = new Set<string>();
    const input = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(urlSpecArb, mutationsArb(3)) },
      // A '/' in a raw password: the URL is misread (the user must escape it), but the password must still not leak.
      { weight: 1, arbitrary: fc.tuple(urlSpecArb.map((u) => ({ ...u, user: u.user ?? 'admin', raw: true, password: u.password + '/x' })), fc.constant([])) },
    );
    const report = fuzz('url mutated', 0x5eed_0402, 4000, fc.property(input, ([u, edits]) => {
      const url = mutateText(urlOf(u), edits);
      const r = typed(() => parseRtspUrl(url), RtspUrlError);
      // The password must be hidden where it is recognisably credentials: the URL still starts "scheme://user:pw@"
      // and holds no other copy of it (a mutation that moves or copies the password elsewhere makes it plain text).
      const pw = u.raw ? u.password : encodeURIComponent(u.password);
      const prefix = u.user === null ? '' : `${u.scheme}://${encodeURIComponent(u.user)}:${pw}@`;
      const secret = u.user !== null && url.startsWith(prefix) && url.split(pw).length === 2 ? pw : undefined;
      if (!r.ok) {
        codes.add(r.code);
        if (secret) expect(visible(r.error), url).not.toContain(secret);
      } else if (secret && r.value.credentials?.password === u.password && !r.value.path.includes(secret)) {
        // (A path holding the password too, e.g. the URL pasted twice, is what the user typed: it stays in toString.)
        expect(visible(r.value)).not.toContain(secret);
      }
      if (secret) expect(redactUrl(url), url).not.toContain(secret);
    }));
    if (complete(report)) for (const c of ['BAD_URL', 'BAD_URL_SCHEME', 'BAD_URL_HOST', 'BAD_URL_PORT']) expect([...codes]).toContain(c);
  }, FUZZ_TEST_TIMEOUT_MS);

  it('resolveControl never throws and keeps absolute controls as they are', () => {
    const control = fc.oneof(fc.constantFrom(undefined, '', '*', 'track1', '/abs/track', 'rtsp://other/x', 'trackID=1?x'), fc.string({ maxLength: 30 }));
    fuzz('url resolveControl', 0x5eed_0403, 2000, fc.property(control, urlSpecArb.map(urlOf), (c, base) => {
      const out = resolveControl(c, base);
      expect(typeof out).toBe('string');
      const t = (c ?? '').trim();
      if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(t)) expect(out).toBe(t);
      if (t === '' || t === '*') expect(out).toBe(base);
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
