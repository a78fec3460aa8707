// Fuzzing the RTSP header value parsers (src/core/rtsp/message.ts): parseTransport / parseTransports, parseSession,
// parseRtpInfo, parsePublic and parseRange. Values are generated from their fields (with the spacing, quoting and
// case cameras use), so each parse is checked against the fields it was built from; mutated and random values may
// only fail with RtspParseError.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parsePublic, parseRange, parseRtpInfo, parseSession, parseTransport, parseTransports, RtspParseError,
  DEFAULT_SESSION_TIMEOUT_SECONDS,
} from '../../src/core/rtsp/index.js';
import { complete, fuzz, FUZZ_TEST_TIMEOUT_MS, summary, typed, validOrMutatedText } from './fuzz.js';

const sp = fc.constantFrom('', '', ' ', '  ');
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const tokenArb = (max: number) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });

interface TransportSpec {
  profile: string; lower: string | null; delivery: 'unicast' | 'multicast' | null; destination: string | null;
  interleaved: [number, number | null] | null; clientPort: [number, number | null] | null; serverPort: [number, number | null] | null;
  ttl: number | null; ssrc: number | null; mode: string | null; quotedMode: boolean; append: boolean; unknown: [string, string] | null;
}

const pairArb = (max: number) => fc.option(fc.tuple(fc.integer({ min: 0, max }), fc.option(fc.integer({ min: 0, max }))));
const transportSpecArb: fc.Arbitrary<TransportSpec> = fc.record({
  profile: fc.constantFrom('AVP', 'AVPF', 'SAVP'),
  lower: fc.option(fc.constantFrom('TCP', 'UDP', 'tcp')),
  delivery: fc.option(fc.constantFrom('unicast' as const, 'multicast' as const)),
  destination: fc.option(fc.constantFrom('192.0.2.1', 'cam.local', '::1')),
  interleaved: pairArb(255),
  clientPort: pairArb(65535),
  serverPort: pairArb(65535),
  ttl: fc.option(fc.integer({ min: 0, max: 255 })),
  ssrc: fc.option(fc.integer({ min: 0, max: 0xffffffff })),
  mode: fc.option(fc.constantFrom('PLAY', 'play', 'RECORD')),
  quotedMode: fc.boolean(),
  append: fc.boolean(),
  unknown: fc.option(fc.tuple(fc.constantFrom('x-foo', 'x-Dynamic-Rate', 'rtcp-mux'), fc.constantFrom('', '1', '"a;b,c"'))),
});

function transportText(t: TransportSpec, s: string): string {
  const parts = [`RTP/${t.profile}${t.lower ? '/' + t.lower : ''}`];
  const pair = (p: [number, number | null]) => (p[1] === null ? `${p[0]}` : `${p[0]}-${p[1]}`);
  if (t.delivery) parts.push(t.delivery);
  if (t.destination) parts.push(`destination=${t.destination}`);
  if (t.interleaved) parts.push(`interleaved=${pair(t.interleaved)}`);
  if (t.clientPort) parts.push(`client_port=${pair(t.clientPort)}`);
  if (t.serverPort) parts.push(`server_port=${pair(t.serverPort)}`);
  if (t.ttl !== null) parts.push(`ttl=${t.ttl}`);
  if (t.ssrc !== null) parts.push(`ssrc=${t.ssrc.toString(16).toUpperCase().padStart(8, '0')}`);
  if (t.mode) parts.push(t.quotedMode ? `mode="${t.mode}"` : `mode=${t.mode}`);
  if (t.append) parts.push('append');
  if (t.unknown) parts.push(t.unknown[1] === '' ? t.unknown[0] : `${t.unknown[0]}=${t.unknown[1]}`);
  return parts.join(`${s};${s}`);
}

const pairOf = (p: [number, number | null] | null) => (p === null ? undefined : p[1] === null ? { rtp: p[0] } : { rtp: p[0], rtcp: p[1] });

describe('fuzz: RTSP header values', () => {
  afterAll(() => console.log(summary()));

  it('Transport: a generated value parses back to its fields; several in one header split on commas', () => {
    fuzz('transport generated', 0x5eed_0301, 2000, fc.property(fc.array(transportSpecArb, { minLength: 1, maxLength: 3 }), sp, (specs, s) => {
      const texts = specs.map((t) => transportText(t, s));
      const all = parseTransports(texts.join(`${s},${s}`));
      expect(all.length).toBe(specs.length);
      specs.forEach((t, i) => {
        const got = parseTransport(texts[i]);
        expect(all[i]).toEqual(got);
        expect(got.protocol).toBe('RTP');
        expect(got.profile).toBe(t.profile);
        expect(got.lowerTransport).toBe((t.lower ?? 'UDP').toUpperCase());
        expect(got.delivery).toBe(t.delivery ?? undefined);
        expect(got.destination).toBe(t.destination ?? undefined);
        expect(got.interleaved).toEqual(pairOf(t.interleaved));
        expect(got.clientPort).toEqual(pairOf(t.clientPort));
        expect(got.serverPort).toEqual(pairOf(t.serverPort));
        expect(got.ttl).toBe(t.ttl ?? undefined);
        expect(got.ssrc).toBe(t.ssrc ?? undefined);
        expect(got.mode).toBe(t.mode?.toUpperCase());
        expect(got.append).toBe(t.append ? true : undefined);
        // A quoted value keeps its ';' and ',' (they do not split the header).
        if (t.unknown) expect(got.params.get(t.unknown[0].toLowerCase())).toBe(t.unknown[1].replace(/^"(.*)"$/, '$1'));
      });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('Session: id and timeout round trip', () => {
    const idArb = fc.string({ unit: fc.constantFrom(...TCHARS.filter((c) => c !== ',')), minLength: 1, maxLength: 40 });
    fuzz('session generated', 0x5eed_0302, 2000, fc.property(idArb, fc.option(fc.integer({ min: 0, max: 999_999_999 })), sp, fc.boolean(), (id, timeout, s, quoted) => {
      const t = timeout === null ? '' : `${s};${s}timeout=${quoted ? `"${timeout}"` : timeout}`;
      expect(parseSession(`${s}${id}${t}`)).toEqual({ id, timeoutSeconds: timeout ?? DEFAULT_SESSION_TIMEOUT_SECONDS });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('RTP-Info: entries (URLs with "," and ";" inside) round trip', () => {
    const urlArb = fc.tuple(
      fc.constantFrom('rtsp://cam/stream', 'rtsp://10.0.0.1:554/a', 'rtsp://[::1]/x'),
      fc.array(fc.oneof(fc.stringMatching(/^\/[a-z0-9_.]{0,8}$/), fc.constantFrom(',v=2', ';x=1', '?channel=1&subtype=0', '/trackID=1')), { maxLength: 4 }),
    ).map(([base, rest]) => base + rest.join(''));
    const entryArb = fc.record({
      url: urlArb,
      seq: fc.option(fc.integer({ min: 0, max: 0xffff })),
      rtptime: fc.option(fc.integer({ min: 0, max: 0xffffffff })),
      ssrc: fc.option(fc.integer({ min: 0, max: 0xffffffff })),
    });
    fuzz('rtp-info generated', 0x5eed_0303, 2000, fc.property(fc.array(entryArb, { minLength: 1, maxLength: 4 }), sp, (entries, s) => {
      const text = entries.map((e) => {
        const p = [`url=${e.url}`];
        if (e.seq !== null) p.push(`seq=${e.seq}`);
        if (e.rtptime !== null) p.push(`rtptime=${e.rtptime}`);
        if (e.ssrc !== null) p.push(`ssrc=${e.ssrc.toString(16)}`);
        return p.join(`;${s}`);
      }).join(`,${s}`);
      const expected = entries.map((e) => {
        const o: Record<string, unknown> = { url: e.url };
        if (e.seq !== null) o.seq = e.seq;
        if (e.rtptime !== null) o.rtptime = e.rtptime;
        if (e.ssrc !== null) o.ssrc = e.ssrc;
        return o;
      });
      expect(parseRtpInfo(text)).toEqual(expected);
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('Public: the set of methods round trips', () => {
    fuzz('public generated', 0x5eed_0304, 1000, fc.property(fc.array(tokenArb(16).filter((t) => !t.includes(',')), { maxLength: 12 }), sp, (methods, s) => {
      expect(parsePublic(methods.join(`${s},${s}`))).toEqual(new Set(methods));
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('Range: npt times in seconds and h:mm:ss round trip', () => {
    const timeArb = fc.oneof(
      fc.integer({ min: 0, max: 10_000_000 }).map((n) => ({ text: String(n), value: n })),
      fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 999 })).map(([a, f]) => ({ text: `${a}.${String(f).padStart(3, '0')}`, value: Number(`${a}.${String(f).padStart(3, '0')}`) })),
      fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
        .map(([h, m, x]) => ({ text: `${h}:${String(m).padStart(2, '0')}:${String(x).padStart(2, '0')}`, value: h * 3600 + m * 60 + x })),
    );
    fuzz('range generated', 0x5eed_0305, 2000, fc.property(fc.option(timeArb), fc.option(timeArb), fc.boolean(), (a, b, now) => {
      fc.pre(a !== null || b !== null || now);
      const start = now ? 'now' : a?.text ?? '';
      const r = parseRange(`npt=${start}-${b?.text ?? ''}`);
      expect(r).toEqual({ unit: 'npt', ...(now ? { start: 'now' } : a ? { start: a.value } : {}), ...(b ? { end: b.value } : {}) });
    }));
  }, FUZZ_TEST_TIMEOUT_MS);

  it('mutated and random values fail only with RtspParseError', () => {
    const seeds = fc.oneof(
      transportSpecArb.map((t) => transportText(t, '')),
      fc.constantFrom('ABCDEF;timeout=60', 'url=rtsp://a/b;seq=1;rtptime=2,url=rtsp://a/c;seq=3', 'OPTIONS, DESCRIBE', 'npt=0-', 'npt=00:01:02.5-10', 'clock=19961108T143720.25Z-'),
    );
    const input = fc.oneof({ weight: 4, arbitrary: validOrMutatedText(seeds) }, { weight: 1, arbitrary: fc.string({ maxLength: 80 }) });
    const codes = new Set<string>();
    const report = fuzz('header values mutated', 0x5eed_0306, 4000, fc.property(input, (text) => {
      for (const f of [parseTransport, parseTransports, parseSession, parseRtpInfo, parsePublic, parseRange] as Array<(s: string) => unknown>) {
        const r = typed(() => f(text), RtspParseError);
        if (!r.ok) {
          codes.add(r.code);
          // The context shows the value (bounded), never more than 200 characters of it.
          expect(String(r.error.context.value ?? '').length).toBeLessThanOrEqual(201);
        }
      }
    }));
    if (complete(report)) for (const c of ['BAD_TRANSPORT', 'BAD_SESSION', 'BAD_RTP_INFO', 'BAD_RANGE']) expect([...codes]).toContain(c);
  }, FUZZ_TEST_TIMEOUT_MS);
});
