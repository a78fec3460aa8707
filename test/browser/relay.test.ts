// End to end: the GStreamer test server (/h264 and /raw), the relay (src/node/relay) and headless Chromium on the
// relay's page. The page runs the package's wasm demuxer on interleaved RTP from the WebSocket and draws what it
// decodes; the test polls the counters it exposes on window.wasmRtspRelay (bounded) and keeps a screenshot in
// test-results/relay.png. Needs `npm run build` first (the relay serves dist/browser).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRelay, type RelayServer } from '../../src/node/relay/server.js';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { launchChromium, LAUNCH_TIMEOUT_MS, startStaticServer, takePageError, type Browser } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bound of every wait for the page (the machine is shared and slow). */
const WAIT_MS = 45_000;
/** Bound of one browser's unsent bytes in the back-pressure test. */
const SMALL_BUFFER_BYTES = 256 * 1024;
const CAMERA_H264 = 0;
const CAMERA_RAW = 1;
const CAMERA_H265 = 2;

let rtsp: RtspTestServer;
let relay: RelayServer;
let browser: Browser;
let setupError: unknown;

/** Opens the relay's page and waits until its module runs. */
async function openViewer(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(relay.url);
  await page.waitForFunction('window.wasmRtspRelay?.ready === true', undefined, { timeout: WAIT_MS });
  return page;
}

/** How many distinct colours (3 bits per channel) a row of camera i's picture has: bars, not a blank canvas. */
function distinctColours(page: Page, i: number): Promise<number> {
  return page.evaluate(`(() => {
    const c = document.querySelector('#camera-${i} canvas.picture');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let x = 0; x < c.width; x += 4) { const p = (20 * c.width + x) * 4; seen.add(d[p] >> 5 << 6 | d[p + 1] >> 5 << 3 | d[p + 2] >> 5); }
    return seen.size;
  })()`);
}

/** Camera i's counters on `page`. */
function counters(page: Page, i: number): Promise<any> {
  return page.evaluate(`JSON.parse(JSON.stringify(window.wasmRtspRelay.cameras[${i}]))`);
}

beforeAll(async () => {
  try {
    rtsp = await startRtspServer({ sessionTimeout: 60 });
    if (!rtsp.mounts.includes('/h265')) throw new Error(`the test server has no /h265 (x265enc, rtph265pay missing?): ${rtsp.mounts.join(' ')}`);
    relay = await startRelay({ urls: [rtsp.url('/h264'), rtsp.url('/raw'), rtsp.url('/h265')], port: 0 });
    browser = await launchChromium();
  } catch (e) {
    setupError = e;
  }
}, LAUNCH_TIMEOUT_MS + 30_000);

beforeEach(() => {
  // A failing beforeAll would count the tests as skipped; a missing browser or server must fail them.
  if (setupError !== undefined) throw setupError;
});

afterEach(() => {
  expect(browser.pageErrors, 'errors in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await rtsp?.stop();
});

describe('wasm-rtsp relay in headless Chromium', () => {
  it('the page decodes H.264 with WebCodecs (wasm demuxer + Depayloader) and draws raw video (RFC 4175 UYVY), live', async () => {
    const page = await openViewer();
    const support = await page.evaluate('window.wasmRtspRelay.support') as Record<string, unknown>;
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_RAW}].framesDrawn >= 10`, undefined, { timeout: WAIT_MS, polling: 250 });
    const raw = await counters(page, CAMERA_RAW);
    expect(raw).toMatchObject({ mode: 'raw', encodingName: 'RAW', firstFrameWasKeyframe: true, decodeErrors: 0 });
    expect(raw.describe.streams[0]).toMatchObject({ type: 'video', encodingName: 'RAW', clockRate: 90000, channel: 0 });
    expect(raw.describe.streams[0].fmtp).toMatchObject({ width: '320', height: '240', sampling: 'YCbCr-4:2:2' });
    expect(raw.describe.url).toBe(rtsp.url('/raw'));
    expect(raw.packets).toBeGreaterThan(raw.framesDrawn);
    expect(await distinctColours(page, CAMERA_RAW)).toBeGreaterThanOrEqual(5);

    if (support.h264 === true) {
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].framesDrawn >= 10`, undefined, { timeout: WAIT_MS, polling: 250 });
      const h264 = await counters(page, CAMERA_H264);
      expect(h264).toMatchObject({ mode: 'webcodecs', encodingName: 'H264', firstFrameWasKeyframe: true, decodeErrors: 0 });
      expect(h264.describe.streams[0].fmtp['sprop-parameter-sets']).toBeDefined();
      expect(h264.keyframes).toBeGreaterThanOrEqual(1);
      expect(await distinctColours(page, CAMERA_H264)).toBeGreaterThanOrEqual(5);
    } else {
      // This Chromium lacks H.264: the tile says so, with the evidence, and the raw camera above is still drawn.
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].mode === 'unsupported'`, undefined, { timeout: WAIT_MS });
      expect(await page.textContent(`#camera-${CAMERA_H264} .notes`)).toContain('isConfigSupported');
    }
    // H.265: decoded where this Chromium has it, else the tile quotes isConfigSupported's answer (the evidence).
    if (support.h265 === true) {
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H265}].framesDrawn >= 5`, undefined, { timeout: WAIT_MS, polling: 250 });
      expect(await counters(page, CAMERA_H265)).toMatchObject({ mode: 'webcodecs', firstFrameWasKeyframe: true, decodeErrors: 0 });
    } else {
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H265}].mode === 'unsupported'`, undefined, { timeout: WAIT_MS, polling: 250 });
      const notes = await page.textContent(`#camera-${CAMERA_H265} .notes`);
      expect(notes).toMatch(/VideoDecoder\.isConfigSupported\(\{ codec: 'hvc1\.[^']+' \}\) → supported: false/);
      expect((await counters(page, CAMERA_H265)).framesDrawn).toBe(0);
    }
    // The numbers and the relay's stats reach the page.
    await page.waitForFunction(`document.querySelector('#camera-${CAMERA_RAW} .numbers').textContent.includes('relay pool')`, undefined, { timeout: WAIT_MS, polling: 250 });
    const text = await page.textContent(`#camera-${CAMERA_RAW} .numbers`);
    expect(text).toMatch(/packets\/s/);
    expect(text).toMatch(/relay pool/);
    // A few seconds of history on the chart before the screenshot.
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_RAW}].framesDrawn >= 120`, undefined, { timeout: WAIT_MS, polling: 250 });
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/relay.png'), fullPage: true });
    await page.close();
  }, 3 * WAIT_MS);

  it('a second browser joining mid-stream starts at a keyframe: its first decoded frame is one, no decode errors', async () => {
    const first = await openViewer();
    const support = await first.evaluate('window.wasmRtspRelay.support') as Record<string, unknown>;
    expect(support.h264, 'this Chromium cannot decode H.264 (see the page); the join test needs it').toBe(true);
    // Join well after the stream started: past the first keyframe interval (30 frames).
    await first.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].framesDrawn >= 45`, undefined, { timeout: WAIT_MS, polling: 250 });
    const second = await openViewer();
    await second.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].framesDrawn >= 10`, undefined, { timeout: WAIT_MS, polling: 250 });
    const joined = await counters(second, CAMERA_H264);
    expect(joined).toMatchObject({ mode: 'webcodecs', firstFrameWasKeyframe: true, decodeErrors: 0, lost: 0 });
    // The relay held back the units before the keyframe (counted for this browser), not the decoder.
    await second.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].relay?.client !== undefined`, undefined, { timeout: WAIT_MS });
    const relayView = (await counters(second, CAMERA_H264)).relay;
    expect(relayView.viewers).toBeGreaterThanOrEqual(2);
    expect(relayView.client.droppedSlow).toBe(0);
    const firstNow = await counters(first, CAMERA_H264);
    expect(firstNow.decodeErrors).toBe(0);
    await second.close();
    await first.close();
  }, 3 * WAIT_MS);

  it('the page says what this browser decodes, asked early with VideoDecoder.isConfigSupported', async () => {
    const page = await openViewer();
    const support = await page.evaluate('window.wasmRtspRelay.support') as Record<string, unknown>;
    expect(support.webCodecs).toBe(true);
    expect(typeof support.h264).toBe('boolean');
    const text = await page.textContent('#support');
    expect(text).toContain('isConfigSupported');
    expect(text).toContain(support.h264 ? 'H.264 avc1.42e01f yes' : 'H.264 avc1.42e01f no');
    await page.close();
  }, 2 * WAIT_MS);

  it('a browser that does not read loses whole access units, counted, and the relay never buffers past its bound', async () => {
    const small = await startRelay({ urls: [rtsp.url('/raw')], port: 0, maxBufferedBytes: SMALL_BUFFER_BYTES });
    const ws = new WebSocket(`ws://127.0.0.1:${small.port}/ws/0`);
    try {
      const describe = await new Promise<any>((ok, fail) => {
        ws.once('message', (data, binary) => (binary ? fail(new Error('binary before describe')) : ok(JSON.parse(String(data)))));
        ws.once('error', fail);
      });
      expect(describe).toMatchObject({ type: 'describe', version: 1, camera: 0, maxBufferedBytes: SMALL_BUFFER_BYTES });
      // Stop reading: the kernel buffers fill, then the relay's send queue for this socket.
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const deadline = Date.now() + WAIT_MS;
      let client: any;
      while (Date.now() < deadline) {
        client = small.stats()[0].clients[0];
        if (client?.droppedSlow >= 5) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(client.droppedSlow).toBeGreaterThanOrEqual(5);
      expect(client.droppedBytes).toBeGreaterThan(0);
      expect(client.bufferedHighWater).toBeLessThanOrEqual(SMALL_BUFFER_BYTES);
      expect(client.bufferedAmount).toBeLessThanOrEqual(SMALL_BUFFER_BYTES);
    } finally {
      ws.terminate();
      await small.close();
    }
  }, 2 * WAIT_MS);
});

/** One binary message of the relay: its RTP sequence numbers and the H.264 NAL types it carries (FU-A / STAP-A opened). */
function unitOf(data: Buffer): { firstSeq: number; lastSeq: number; nalTypes: Set<number> } {
  const nalTypes = new Set<number>();
  let firstSeq = -1;
  let lastSeq = -1;
  for (let at = 0; at < data.length;) {
    const length = data.readUInt16BE(at + 2);
    const packet = data.subarray(at + 4, at + 4 + length);
    const seq = packet.readUInt16BE(2);
    if (firstSeq < 0) firstSeq = seq;
    lastSeq = seq;
    const payload = packet.subarray(12); // x264 via rtph264pay: no CSRC, no extension
    const type = payload[0] & 0x1f;
    if (type === 28) nalTypes.add(payload[1] & 0x1f);
    else if (type === 24) {
      for (let i = 1; i + 2 < payload.length; i += 2 + payload.readUInt16BE(i)) nalTypes.add(payload[i + 2] & 0x1f);
    } else nalTypes.add(type);
    at += 4 + length;
  }
  return { firstSeq, lastSeq, nalTypes };
}

describe('back-pressure on H.264', () => {
  it('a browser that stalls loses whole access units and, once it reads again, resumes at a keyframe (IDR)', async () => {
    const small = await startRelay({ urls: [rtsp.url('/h264')], port: 0, maxBufferedBytes: 64 * 1024 });
    const ws = new WebSocket(`ws://127.0.0.1:${small.port}/ws/0`);
    const units: Array<ReturnType<typeof unitOf>> = [];
    ws.on('message', (data: Buffer, binary) => { if (binary) units.push(unitOf(data)); });
    try {
      await new Promise<void>((ok, fail) => { ws.once('message', () => ok()); ws.once('error', fail); });
      (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      // Bounded poll: the kernel's socket buffers fill first (about 15 s at this stream's 2 Mbit/s), then the relay's.
      const deadline = Date.now() + 2 * WAIT_MS;
      while (Date.now() < deadline && !(small.stats()[0].clients[0]?.droppedSlow >= 1)) await new Promise((r) => setTimeout(r, 250));
      const stalled = small.stats()[0].clients[0];
      expect(stalled.droppedSlow).toBeGreaterThanOrEqual(1);
      expect(stalled.bufferedAmount).toBeLessThanOrEqual(64 * 1024);
      expect(stalled.bufferedHighWater).toBeLessThanOrEqual(64 * 1024);
      (ws as unknown as { _socket: { resume(): void } })._socket.resume();
      // Read on until the first sequence gap (where units were dropped) and the unit after it.
      let gapAt = -1;
      const readDeadline = Date.now() + WAIT_MS;
      while (Date.now() < readDeadline && gapAt < 0) {
        for (let i = 1; i < units.length; i++) {
          if (units[i].firstSeq !== ((units[i - 1].lastSeq + 1) & 0xffff)) { gapAt = i; break; }
        }
        if (gapAt < 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(gapAt, `${units.length} units read, no gap`).toBeGreaterThan(0);
      // The unit after the gap is a keyframe: whole units were dropped up to an IDR, never part of one.
      expect([...units[gapAt].nalTypes]).toContain(5);
      expect(units.slice(0, gapAt).every((u, i) => i === 0 || u.firstSeq === ((units[i - 1].lastSeq + 1) & 0xffff))).toBe(true);
    } finally {
      ws.terminate();
      await small.close();
    }
  }, 4 * WAIT_MS);
});

describe('a camera that goes away', () => {
  it('its browsers get an error message, and a new describe and units once the camera is back', async () => {
    const first = await startRtspServer({ sessionTimeout: 60 });
    const port = first.port;
    const relayed = await startRelay({ urls: [first.url('/raw')], port: 0 });
    const ws = new WebSocket(`ws://127.0.0.1:${relayed.port}/ws/0`);
    const texts: any[] = [];
    let binariesAfterBack = 0;
    ws.on('message', (data, binary) => {
      if (!binary) texts.push(JSON.parse(String(data)));
      else if (texts.filter((t) => t.type === 'describe').length >= 2) binariesAfterBack++;
    });
    let second: RtspTestServer | undefined;
    const until = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + WAIT_MS;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; messages: ${JSON.stringify(texts.map((t) => t.type))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until('the first describe', () => texts.some((t) => t.type === 'describe'));
      await first.stop();
      await until('an error message', () => texts.some((t) => t.type === 'error'));
      expect(relayed.stats()[0].state).toBe('failed');
      // The same port again: the relay retries every RECONNECT_DELAY_MS.
      second = await startRtspServer({ sessionTimeout: 60, extraArgs: ['--port', String(port)] });
      await until('a second describe and units', () => binariesAfterBack >= 3);
      const describes = texts.filter((t) => t.type === 'describe');
      expect(describes[1]).toMatchObject({ type: 'describe', camera: 0, url: second.url('/raw') });
      expect(relayed.stats()[0].state).toBe('playing');
    } finally {
      ws.terminate();
      await relayed.close();
      await first.stop();
      await second?.stop();
    }
  }, 4 * WAIT_MS);
});

describe('the README example', () => {
  it('the WebSocket + WebCodecs example of the README, run as written against the relay, draws the H.264 camera', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((code) => code.includes('new WebSocket('));
    expect(example, 'a js block with new WebSocket( in README.md').toBeDefined();
    expect(example).toContain("'ws://127.0.0.1:8080/ws/0'");
    const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-readme-'));
    const server = await startStaticServer([['/dist/', join(ROOT, 'dist')], ['/example/', dir]]);
    // The page is served from another origin than the relay's: as the README says, it is allowed with allowOrigins
    // (--allow-origin); the relay refuses WebSockets of any other page.
    const allowing = await startRelay({ urls: [rtsp.url('/h264')], port: 0, allowOrigins: [server.origin] });
    // Only the relay's address differs; the bare specifier resolves through an import map, as a bundler would.
    writeFileSync(join(dir, 'app.js'), example!.replace("'ws://127.0.0.1:8080/ws/0'", `'ws://127.0.0.1:${allowing.port}/ws/0'`));
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "wasm-rtsp/browser": "/dist/browser/index.js" } }</script>
<script type="module" src="./app.js"></script></head><body><canvas width="320" height="240"></canvas></body></html>`);
    try {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/example/index.html`);
      // Bounded poll: the canvas shows the test pattern's bars once frames are decoded.
      await page.waitForFunction(`(() => {
        const c = document.querySelector('canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let x = 0; x < c.width; x += 4) { const p = (20 * c.width + x) * 4; seen.add(d[p] >> 5 << 6 | d[p + 1] >> 5 << 3 | d[p + 2] >> 5); }
        return seen.size >= 5;
      })()`, undefined, { timeout: WAIT_MS, polling: 250 });
      expect(allowing.requests().forbiddenOrigin).toBe(0);
      // The same page against a relay that does not allow its origin: the handshake is refused (cross-site
      // WebSocket hijacking, issue 15), and the browser sees a failed connection.
      const before = relay.requests().forbiddenOrigin;
      const outcome = await page.evaluate(`new Promise((done) => {
        const ws = new WebSocket('ws://127.0.0.1:${relay.port}/ws/${CAMERA_H264}');
        ws.onopen = () => done('open');
        ws.onclose = (e) => done('closed ' + e.code);
      })`);
      expect(outcome).toBe('closed 1006');
      expect(relay.requests().forbiddenOrigin).toBe(before + 1);
      expect(takePageError(browser.pageErrors, 'WebSocket', String(relay.port)), 'the refused handshake in the console').toBeDefined();
      await page.close();
    } finally {
      await allowing.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 2 * WAIT_MS);
});
