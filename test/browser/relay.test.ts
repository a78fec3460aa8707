// End to end: the GStreamer test server (/h264 and /raw), the relay (src/node/relay) and headless Chromium on the
// relay's page. The page runs the package's wasm demuxer on interleaved RTP from the WebSocket and draws what it
// decodes; the test polls the counters it exposes on window.wasmRtspRelay (bounded) and keeps a screenshot in
// test-results/relay.png. Needs `npm run build` first (the relay serves dist/browser).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRelay, type RelayServer } from '../../src/node/relay/server.js';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { launchChromium, LAUNCH_TIMEOUT_MS, type Browser } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bound of every wait for the page (the machine is shared and slow). */
const WAIT_MS = 45_000;
/** Bound of one browser's unsent bytes in the back-pressure test. */
const SMALL_BUFFER_BYTES = 256 * 1024;
const CAMERA_H264 = 0;
const CAMERA_RAW = 1;

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

/** Camera i's counters on `page`. */
function counters(page: Page, i: number): Promise<any> {
  return page.evaluate(`JSON.parse(JSON.stringify(window.wasmRtspRelay.cameras[${i}]))`);
}

beforeAll(async () => {
  try {
    rtsp = await startRtspServer({ sessionTimeout: 60 });
    relay = await startRelay({ urls: [rtsp.url('/h264'), rtsp.url('/raw')], port: 0 });
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
  it('the page draws raw video (RFC 4175 UYVY through the wasm demuxer) live, with numbers and chart', async () => {
    const page = await openViewer();
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_RAW}].framesDrawn >= 10`, undefined, { timeout: WAIT_MS, polling: 250 });
    const raw = await counters(page, CAMERA_RAW);
    expect(raw).toMatchObject({ mode: 'raw', encodingName: 'RAW', firstFrameWasKeyframe: true, decodeErrors: 0 });
    expect(raw.describe.streams[0]).toMatchObject({ type: 'video', encodingName: 'RAW', clockRate: 90000, channel: 0 });
    expect(raw.describe.streams[0].fmtp).toMatchObject({ width: '320', height: '240', sampling: 'YCbCr-4:2:2' });
    expect(raw.describe.url).toBe(rtsp.url('/raw'));
    expect(raw.packets).toBeGreaterThan(raw.framesDrawn);
    // The picture: videotestsrc's colour bars, not a black or uniform canvas.
    const colours = await page.evaluate(`(() => {
      const c = document.querySelector('#camera-${CAMERA_RAW} canvas.picture');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let x = 0; x < c.width; x += 8) { const p = (20 * c.width + x) * 4; seen.add(d[p] >> 5 << 6 | d[p + 1] >> 5 << 3 | d[p + 2] >> 5); }
      return seen.size;
    })()`);
    expect(colours).toBeGreaterThanOrEqual(5);
    // The numbers and the relay's stats reach the page.
    await page.waitForFunction(`document.querySelector('#camera-${CAMERA_RAW} .numbers').textContent.includes('relay pool')`, undefined, { timeout: WAIT_MS, polling: 250 });
    const text = await page.textContent(`#camera-${CAMERA_RAW} .numbers`);
    expect(text).toMatch(/packets\/s/);
    expect(text).toMatch(/relay pool/);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/relay.png'), fullPage: true });
    await page.close();
  }, 2 * WAIT_MS);

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
