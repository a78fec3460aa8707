import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  RtspAuthenticator, RtspAuthError, parseWwwAuthenticate, chooseChallenge, basicAuthorization, digestResponse, formatNonceCount,
} from '../../../src/node/rtsp/auth.js';

const md5 = (s: string | Uint8Array) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** The Authorization value's parameters (same auth-param syntax as a challenge). */
function paramsOf(authorization: string): Map<string, string> {
  const [c] = parseWwwAuthenticate(authorization);
  return c.params;
}

// RFC 7616 §3.9.1: the server offers SHA-256 and MD5; "Mufasa" / "Circle of Life", GET /dir/index.html.
const RFC7616_NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const RFC7616_OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
const RFC7616_CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const rfc7616Challenge = (algorithm: string) => `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, `
  + `nonce="${RFC7616_NONCE}", opaque="${RFC7616_OPAQUE}"`;

describe('RFC 7616 §3.9.1 test vectors', () => {
  // Independently computed with node:crypto from the RFC's formulas (§3.4.1), and the values printed in the RFC.
  const independent = (h: (s: string) => string) => {
    const ha1 = h('Mufasa:http-auth@example.org:Circle of Life');
    const ha2 = h('GET:/dir/index.html');
    return h(`${ha1}:${RFC7616_NONCE}:00000001:${RFC7616_CNONCE}:auth:${ha2}`);
  };

  it('MD5: response 8ca523f5e9506fed4657c9700eebdbec', () => {
    expect(independent(md5)).toBe('8ca523f5e9506fed4657c9700eebdbec');
    const auth = new RtspAuthenticator({ username: 'Mufasa', password: 'Circle of Life' }, { cnonce: () => RFC7616_CNONCE });
    expect(auth.handleChallenge(rfc7616Challenge('MD5'))).toEqual({ scheme: 'Digest', algorithm: 'MD5', stale: false, credentialsRejected: false });
    const value = auth.authorization('GET', '/dir/index.html')!;
    expect(value).toBe('Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
      + 'uri="/dir/index.html", algorithm=MD5, response="8ca523f5e9506fed4657c9700eebdbec", '
      + 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"');
  });

  it('SHA-256: response 753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1, chosen over MD5', () => {
    expect(independent(sha256)).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    const auth = new RtspAuthenticator({ username: 'Mufasa', password: 'Circle of Life' }, { cnonce: () => RFC7616_CNONCE });
    // Offered as two headers, MD5 first: the stronger SHA-256 must win.
    const outcome = auth.handleChallenge([rfc7616Challenge('MD5'), rfc7616Challenge('SHA-256')]);
    expect(outcome.algorithm).toBe('SHA-256');
    const p = paramsOf(auth.authorization('GET', '/dir/index.html')!);
    expect(p.get('response')).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(p.get('algorithm')).toBe('SHA-256');
    expect(p.get('opaque')).toBe(RFC7616_OPAQUE);
    expect(p.get('nc')).toBe('00000001');
  });
});

describe('RFC 2617 §3.5 example', () => {
  it('gives response 6629fae49393a05397450978507c4ef1', () => {
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    const ha2 = md5('GET:/dir/index.html');
    expect(md5(`${ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:${ha2}`)).toBe('6629fae49393a05397450978507c4ef1');

    const auth = new RtspAuthenticator({ username: 'Mufasa', password: 'Circle Of Life' }, { cnonce: () => '0a4f113b' });
    auth.handleChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
      + 'opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    const p = paramsOf(auth.authorization('GET', '/dir/index.html')!);
    expect(p.get('response')).toBe('6629fae49393a05397450978507c4ef1');
    expect(p.has('algorithm')).toBe(false); // not in the challenge, so not echoed
    expect(p.get('opaque')).toBe('5ccc069c403ebaf9f0171e9517f40e41');
  });
});

describe('Digest computations', () => {
  const base = { username: 'admin', password: 'pw', realm: 'IP Camera(12345)', nonce: 'abc123', method: 'DESCRIBE', uri: 'rtsp://10.0.0.2:554/s' };

  it('without qop (RFC 2069 mode, what most cameras send): H(HA1:nonce:HA2), no nc or cnonce', () => {
    const want = md5(`${md5('admin:IP Camera(12345):pw')}:abc123:${md5('DESCRIBE:rtsp://10.0.0.2:554/s')}`);
    expect(digestResponse({ ...base, algorithm: 'MD5' })).toBe(want);
    const auth = new RtspAuthenticator({ username: 'admin', password: 'pw' });
    auth.handleChallenge('Digest realm="IP Camera(12345)", nonce="abc123", stale="FALSE"');
    const value = auth.authorization('DESCRIBE', 'rtsp://10.0.0.2:554/s')!;
    expect(value).toBe(`Digest username="admin", realm="IP Camera(12345)", nonce="abc123", uri="rtsp://10.0.0.2:554/s", response="${want}"`);
  });

  it('SHA-256 without qop', () => {
    const want = sha256(`${sha256('admin:IP Camera(12345):pw')}:abc123:${sha256('DESCRIBE:rtsp://10.0.0.2:554/s')}`);
    expect(digestResponse({ ...base, algorithm: 'SHA-256' })).toBe(want);
  });

  it('qop=auth-int hashes the body', () => {
    const body = new TextEncoder().encode('v=0\r\n');
    const ha2 = md5(`ANNOUNCE:rtsp://10.0.0.2:554/s:${md5(body)}`);
    const want = md5(`${md5('admin:IP Camera(12345):pw')}:abc123:00000001:cn:auth-int:${ha2}`);
    expect(digestResponse({ ...base, method: 'ANNOUNCE', algorithm: 'MD5', qop: 'auth-int', nc: 1, cnonce: 'cn', body })).toBe(want);
    const auth = new RtspAuthenticator({ username: 'admin', password: 'pw' }, { cnonce: () => 'cn' });
    auth.handleChallenge('Digest realm="IP Camera(12345)", nonce="abc123", qop="auth-int"');
    expect(paramsOf(auth.authorization('ANNOUNCE', 'rtsp://10.0.0.2:554/s', body)!).get('response')).toBe(want);
  });

  it('MD5-sess: HA1 = H(H(user:realm:pass):nonce:cnonce)', () => {
    const ha1 = md5(`${md5('admin:IP Camera(12345):pw')}:abc123:cn`);
    const want = md5(`${ha1}:abc123:00000002:cn:auth:${md5('DESCRIBE:rtsp://10.0.0.2:554/s')}`);
    expect(digestResponse({ ...base, algorithm: 'MD5-sess', qop: 'auth', nc: 2, cnonce: 'cn' })).toBe(want);
  });

  it('formats nc as 8 hex digits', () => {
    expect(formatNonceCount(1)).toBe('00000001');
    expect(formatNonceCount(255)).toBe('000000ff');
    expect(formatNonceCount(0xffffffff)).toBe('ffffffff');
  });
});

describe('RtspAuthenticator state', () => {
  const challenge = (nonce: string, extra = '') => `Digest realm="cam", nonce="${nonce}", qop="auth"${extra}`;

  it('counts nc per nonce and restarts at 1 when the nonce changes', () => {
    let n = 0;
    const auth = new RtspAuthenticator({ username: 'u', password: 'p' }, { cnonce: () => `c${++n}` });
    expect(auth.authorization('OPTIONS', 'rtsp://cam/')).toBeUndefined();
    auth.handleChallenge(challenge('n1'));
    const nc = () => paramsOf(auth.authorization('OPTIONS', 'rtsp://cam/')!).get('nc');
    expect([nc(), nc(), nc()]).toEqual(['00000001', '00000002', '00000003']);
    auth.handleChallenge(challenge('n1')); // same nonce again: keep counting (a repeated nc would look like a replay)
    expect(nc()).toBe('00000004');
    auth.handleChallenge(challenge('n2'));
    expect(nc()).toBe('00000001');
  });

  it('uses a fresh cnonce for each request', () => {
    const auth = new RtspAuthenticator({ username: 'u', password: 'p' });
    auth.handleChallenge(challenge('n1'));
    const a = paramsOf(auth.authorization('OPTIONS', 'rtsp://cam/')!).get('cnonce');
    const b = paramsOf(auth.authorization('OPTIONS', 'rtsp://cam/')!).get('cnonce');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });

  it('reports stale=true as a nonce refresh, not as rejected credentials', () => {
    const auth = new RtspAuthenticator({ username: 'u', password: 'p' });
    auth.handleChallenge(challenge('n1'));
    auth.authorization('PLAY', 'rtsp://cam/');
    expect(auth.handleChallenge(challenge('n2', ', stale=true'))).toMatchObject({ stale: true, credentialsRejected: false });
    expect(paramsOf(auth.authorization('PLAY', 'rtsp://cam/')!).get('nonce')).toBe('n2');
    expect(auth.handleChallenge(challenge('n3', ', stale="TRUE"')).stale).toBe(true);
  });

  it('reports a second non-stale 401 after an authorized request as rejected credentials', () => {
    const auth = new RtspAuthenticator({ username: 'u', password: 'wrong' });
    expect(auth.handleChallenge(challenge('n1')).credentialsRejected).toBe(false); // first 401: nothing was sent yet
    auth.authorization('DESCRIBE', 'rtsp://cam/');
    expect(auth.handleChallenge(challenge('n2', ', stale=false'))).toMatchObject({ stale: false, credentialsRejected: true });
  });

  it('uses Basic when that is all that is offered', () => {
    const auth = new RtspAuthenticator({ username: 'Aladdin', password: 'open sesame' });
    expect(auth.handleChallenge('Basic realm="WallyWorld"')).toEqual({ scheme: 'Basic', stale: false, credentialsRejected: false });
    expect(auth.scheme).toBe('Basic');
    expect(auth.authorization('DESCRIBE', 'rtsp://cam/')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='); // RFC 7617 §2
  });

  it('escapes quotes and backslashes in quoted values', () => {
    const auth = new RtspAuthenticator({ username: 'a"b\\c', password: 'p' });
    auth.handleChallenge('Digest realm="r", nonce="n"');
    const value = auth.authorization('OPTIONS', '*')!;
    expect(value).toContain('username="a\\"b\\\\c"');
    expect(paramsOf(value).get('username')).toBe('a"b\\c');
  });

  it('throws NO_SUPPORTED_CHALLENGE listing the offered schemes only', () => {
    const auth = new RtspAuthenticator({ username: 'u', password: 'sekrit' });
    try {
      auth.handleChallenge(['Negotiate abc==', 'Digest realm="r", nonce="n", algorithm=SHA-512-256']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RtspAuthError);
      expect((e as RtspAuthError).code).toBe('NO_SUPPORTED_CHALLENGE');
      expect((e as RtspAuthError).context.offered).toEqual(['Negotiate', 'Digest SHA-512-256']);
    }
  });

  it('never shows the credentials in JSON, inspection or errors', () => {
    const auth = new RtspAuthenticator({ username: 'user', password: 'hunter2' });
    auth.handleChallenge('Digest realm="r", nonce="n"');
    expect(JSON.stringify(auth)).not.toContain('hunter2');
    expect(inspect(auth, { showHidden: true, depth: 5 })).not.toContain('hunter2');
    try { auth.handleChallenge('Digest realm="unterminated'); expect.unreachable(); }
    catch (e) { expect(String(e) + JSON.stringify((e as RtspAuthError).context)).not.toContain('hunter2'); }
    try { basicAuthorization('us:er', 'hunter2'); expect.unreachable(); }
    catch (e) {
      expect((e as RtspAuthError).code).toBe('BAD_USERNAME');
      expect(String(e)).not.toContain('hunter2');
    }
  });
});

describe('parseWwwAuthenticate', () => {
  it('splits several challenges in one header, with commas inside quoted strings', () => {
    const cs = parseWwwAuthenticate('Digest realm="a, b", nonce="x", qop="auth,auth-int", Basic realm="c"');
    expect(cs.map((c) => c.scheme)).toEqual(['Digest', 'Basic']);
    expect(cs[0].params.get('realm')).toBe('a, b');
    expect(cs[0].params.get('qop')).toBe('auth,auth-int');
    expect(cs[1].params.get('realm')).toBe('c');
  });

  it('unescapes quoted-pairs and lower-cases parameter names', () => {
    const [c] = parseWwwAuthenticate('Digest Realm="say \\"hi\\" \\\\o/", NONCE=abc');
    expect(c.params.get('realm')).toBe('say "hi" \\o/');
    expect(c.params.get('nonce')).toBe('abc');
  });

  it('reads token68 challenges and parameters without spaces or commas between them', () => {
    const cs = parseWwwAuthenticate('Negotiate YII=, digest realm="r" nonce="n"');
    expect(cs[0]).toMatchObject({ scheme: 'Negotiate', token68: 'YII=' });
    expect(cs[1].scheme).toBe('digest');
    expect([...cs[1].params]).toEqual([['realm', 'r'], ['nonce', 'n']]);
  });

  it('accepts a scheme with no parameters and empty list elements', () => {
    expect(parseWwwAuthenticate(', Basic ,').map((c) => c.scheme)).toEqual(['Basic']);
  });

  it.each([
    ['unterminated quoted string', 'Digest realm="abc'],
    ['parameter before any scheme', 'realm="abc"'],
    ['stray character', 'Digest realm="a", @'],
  ])('rejects %s with BAD_CHALLENGE', (_name, value) => {
    try { parseWwwAuthenticate(value); expect.unreachable(); }
    catch (e) { expect((e as RtspAuthError).code).toBe('BAD_CHALLENGE'); }
  });

  it('chooses Digest SHA-256 > Digest MD5 > Basic, skipping what it cannot compute', () => {
    const pick = (v: string[]) => { const c = chooseChallenge(parseWwwAuthenticate(v)); return c && `${c.scheme} ${c.params.get('algorithm') ?? ''}`.trim(); };
    expect(pick(['Basic realm="r"', 'Digest realm="r", nonce="n"', 'Digest realm="r", nonce="n", algorithm="SHA-256"'])).toBe('Digest SHA-256');
    expect(pick(['Basic realm="r"', 'Digest realm="r", nonce="n", algorithm=MD5'])).toBe('Digest MD5');
    expect(pick(['Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Basic realm="r"'])).toBe('Basic');
    expect(pick(['Digest realm="r", nonce="n", qop="auth-conf"', 'Basic realm="r"'])).toBe('Basic');
    expect(pick(['Digest realm="r"'])).toBeUndefined(); // no nonce
    expect(pick(['Digest realm="r", nonce="n", algorithm=sha-256-sess'])).toBe('Digest sha-256-sess');
  });
});
