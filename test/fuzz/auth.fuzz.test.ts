// Fuzzing the WWW-Authenticate parser and the Digest/Basic authenticator (src/node/rtsp/auth.ts). Challenges are
// generated from their parts (schemes, token and quoted-string parameters with escapes, commas and spaces inside
// quotes, token68 forms, several challenges per header) and mutated. Properties: a generated header parses back to
// its challenges; mutated and random headers fail only with RtspAuthError; for any challenge the authenticator
// accepts, the Authorization it builds parses back (same grammar) to the realm, nonce, uri and user, carries the
// response RFC 7616 prescribes, and never contains the password.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  digestResponse, parseWwwAuthenticate, RtspAuthenticator, RtspAuthError, type AuthChallenge, type DigestAlgorithm,
} from '../../src/node/rtsp/auth.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed, validOrMutatedText } from './fuzz.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const tokenArb = (max: number) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });
const quotedTextArb = fc.oneof(
  fc.constantFrom('', 'cam realm', 'a,b', 'say "hi"', 'back\\slash', 'auth,auth-int', 'x=y, z="w"'),
  fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\r\n\0]/.test(s)),
);

interface ChallengeSpec { scheme: string; params: Array<[string, string, boolean]>; token68: string | null }

const challengeArb: fc.Arbitrary<ChallengeSpec> = fc.record({
  scheme: fc.oneof(fc.constantFrom('Digest', 'Basic', 'digest', 'Bearer', 'Negotiate'), tokenArb(10)),
  params: fc.uniqueArray(fc.tuple(
    fc.oneof(fc.constantFrom('realm', 'nonce', 'qop', 'algorithm', 'opaque', 'stale', 'domain'), tokenArb(10)),
    quotedTextArb,
    fc.boolean(),
  ), { selector: ([n]) => n.toLowerCase(), maxLength: 6 }),
  token68: fc.option(fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,20}={0,2}$/), { freq: 5 }),
});

/** A parameter value as a token when it is one (and `asToken`), else a quoted-string with escapes. */
function paramText([name, value, asToken]: [string, string, boolean]): string {
  const isToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value);
  return `${name}=${asToken && isToken ? value : '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"'}`;
}

function challengeText(c: ChallengeSpec, sep: string): string {
  if (c.token68 !== null) return `${c.scheme} ${c.token68}`;
  return c.params.length ? `${c.scheme} ${c.params.map(paramText).join(`,${sep}`)}` : c.scheme;
}

function expected(c: ChallengeSpec): AuthChallenge {
  if (c.token68 !== null) return { scheme: c.scheme, params: new Map(), token68: c.token68 };
  return { scheme: c.scheme, params: new Map(c.params.map(([n, v]) => [n.toLowerCase(), v])) };
}

/** Digest challenges we support, with hostile realm/nonce/opaque texts. */
const digestArb = fc.record({
  realm: quotedTextArb,
  nonce: quotedTextArb.filter((s) => s !== ''),
  opaque: fc.option(quotedTextArb),
  algorithm: fc.option(fc.constantFrom('MD5', 'md5', 'MD5-sess', 'SHA-256', 'SHA-256-sess')),
  qop: fc.option(fc.constantFrom('auth', 'auth-int', 'auth,auth-int', 'auth-int, auth')),
  stale: fc.option(fc.constantFrom('true', 'FALSE')),
}).map((d) => {
  const params: Array<[string, string, boolean]> = [['realm', d.realm, false], ['nonce', d.nonce, false]];
  if (d.opaque !== null) params.push(['opaque', d.opaque, false]);
  if (d.algorithm !== null) params.push(['algorithm', d.algorithm, true]);
  if (d.qop !== null) params.push(['qop', d.qop, false]);
  if (d.stale !== null) params.push(['stale', d.stale, true]);
  return { d, text: challengeText({ scheme: 'Digest', params, token68: null }, ' ') };
});

const credentialsArb = fc.record({
  username: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n\0]/.test(s)),
  password: fc.tuple(fc.stringMatching(/^[A-Za-z]{6}$/), fc.string({ unit: 'grapheme', maxLength: 10 })).map(([a, b]) => `Sec${a}${b}`),
});

describe('fuzz: WWW-Authenticate and the authenticator', () => {
  afterAll(() => console.log(summary()));

  it('generated WWW-Authenticate values parse back to their challenges', () => {
    fuzz('auth parse generated', 0x5eed_0601, 3000, fc.property(
      fc.array(challengeArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(' ', '', '  ', '\t'), fc.boolean(),
      (challenges, sep, asList) => {
        const texts = challenges.map((c) => challengeText(c, sep));
        const got = parseWwwAuthenticate(asList ? texts : texts.join(`,${sep}`));
        expect(got).toEqual(challenges.map(expected));
      },
    ));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated and random headers fail only with RtspAuthError, and so does handleChallenge', () => {
    const input = fc.oneof(
      { weight: 4, arbitrary: validOrMutatedText(fc.oneof(digestArb.map((x) => x.text), challengeArb.map((c) => challengeText(c, ' ')))) },
      { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
    );
    const codes = new Set<string>();
    const report = fuzz('auth parse mutated', 0x5eed_0602, 4000, fc.property(input, credentialsArb, (text, cred) => {
      const r = typed(() => parseWwwAuthenticate(text), RtspAuthError);
      if (!r.ok) codes.add(r.code);
      const auth = new RtspAuthenticator(cred, { cnonce: () => 'c0ffee' });
      const h = typed(() => auth.handleChallenge(text), RtspAuthError);
      if (!h.ok) {
        codes.add(h.code);
        expect(h.error.message + JSON.stringify(h.error.context)).not.toContain(cred.password);
        return;
      }
      const a = typed(() => auth.authorization('DESCRIBE', 'rtsp://cam/stream'), RtspAuthError);
      if (a.ok) expect(a.value).not.toContain(cred.password);
      else expect(a.code).toBe('BAD_USERNAME'); // Basic cannot carry a ':' in the user name
      expect(JSON.stringify(auth)).not.toContain(cred.password);
    }));
    if (complete(report)) for (const c of ['BAD_CHALLENGE', 'NO_SUPPORTED_CHALLENGE']) expect([...codes]).toContain(c);
  }, FUZZ_TEST_TIMEOUT_MS);

  it('the Digest Authorization parses back to its fields and carries the RFC 7616 response', () => {
    const uriArb = fc.constantFrom('rtsp://cam/stream', 'rtsp://cam/stream/trackID=1', 'rtsp://[::1]:8554/a?b="c"', '*');
    fuzz('auth digest round trip', 0x5eed_0603, 2000, fc.property(digestArb, credentialsArb, uriArb, fc.integer({ min: 1, max: 3 }), ({ d, text }, cred, uri, requests) => {
      const auth = new RtspAuthenticator(cred, { cnonce: () => 'c0ffee' });
      const outcome = auth.handleChallenge(text);
      expect(outcome.scheme).toBe('Digest');
      for (let n = 1; n <= requests; n++) {
        const value = auth.authorization('SETUP', uri)!;
        expect(value).not.toContain(cred.password);
        const [c] = parseWwwAuthenticate(value);
        expect(c.scheme).toBe('Digest');
        const p = c.params;
        expect(p.get('username')).toBe(cred.username);
        expect(p.get('realm')).toBe(d.realm);
        expect(p.get('nonce')).toBe(d.nonce);
        expect(p.get('uri')).toBe(uri);
        expect(p.get('opaque')).toBe(d.opaque ?? undefined);
        const algorithm = ({ MD5: 'MD5', 'MD5-SESS': 'MD5-sess', 'SHA-256': 'SHA-256', 'SHA-256-SESS': 'SHA-256-sess' } as Record<string, DigestAlgorithm>)[(d.algorithm ?? 'MD5').toUpperCase()];
        const qop = d.qop === null ? undefined : d.qop.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : 'auth-int';
        expect(p.get('qop')).toBe(qop);
        if (qop) expect(p.get('nc')).toBe(n.toString(16).padStart(8, '0'));
        expect(p.get('response')).toBe(digestResponse({
          algorithm, username: cred.username, password: cred.password, realm: d.realm, nonce: d.nonce, method: 'SETUP', uri,
          qop, nc: qop ? n : undefined, cnonce: p.get('cnonce'),
        }));
      }
    }));
  }, FUZZ_TEST_TIMEOUT_MS);
});
