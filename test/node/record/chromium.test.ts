// A recording plays in headless Chromium's <video>: a fragmented MP4 the recorder closed, and the open segment a
// SIGKILL would leave (here: copied while the recording goes on). Chromium reads the duration and decodes frames.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspCamera } from '../../../src/node/index.js';
import { Recorder, type SegmentRecord } from '../../../src/node/record/index.js';
import { startRtspServer, type RtspTestServer } from '../../server/harness.js';
import { launchChromium, type Browser } from '../../browser/chromium.js';
import { readFmp4 } from './fmp4.js';

const FPS = 30;
const ORIGIN = 'http://recording.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RtspTestServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  server = await startRtspServer({ framerate: FPS, extraArgs: ['--key-int', '15'] });
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-rec-chromium-'));
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir && !process.env.RECORD_KEEP) rmSync(dir, { recursive: true, force: true });
});

/** What the page reports about a file played in <video>. */
interface Played { duration: number; width: number; height: number; currentTime: number; coloured: number; error: string | null }

/** Plays `file` in a <video> (served through a route, nothing on the network) and samples a decoded frame. */
async function play(file: string): Promise<Played> {
  const page = await browser.newPage();
  const body = readFileSync(file);
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith('/rec.mp4')) return route.fulfill({ status: 200, contentType: 'video/mp4', body });
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><video id="v" muted playsinline></video>' });
  });
  await page.goto(`${ORIGIN}/`);
  const result = await page.evaluate(async () => {
    const v = document.getElementById('v') as HTMLVideoElement;
    const failed = new Promise<string>((r) => v.addEventListener('error', () => r(`media error ${v.error?.code}: ${v.error?.message}`)));
    v.src = '/rec.mp4';
    const meta = new Promise<void>((r) => v.addEventListener('loadedmetadata', () => r(), { once: true }));
    const outcome = await Promise.race([meta.then(() => null), failed]);
    if (outcome) return { duration: 0, width: 0, height: 0, currentTime: 0, coloured: 0, error: outcome };
    await v.play();
    // A decoded frame well into the file, drawn to a canvas: the test pattern's colour bars, not black.
    await new Promise<void>((r) => {
      const tick = () => (v.currentTime >= 1 ? r() : v.requestVideoFrameCallback(tick));
      v.requestVideoFrameCallback(tick);
    });
    v.pause();
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d')!;
    g.drawImage(v, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < px.length; i += 4) if (Math.max(px[i]!, px[i + 1]!, px[i + 2]!) - Math.min(px[i]!, px[i + 1]!, px[i + 2]!) > 60) coloured++;
    return { duration: v.duration, width: v.videoWidth, height: v.videoHeight, currentTime: v.currentTime, coloured: coloured / (px.length / 4), error: null };
  });
  await page.close();
  return result;
}

describe('recordings in Chromium', () => {
  it('plays a closed fragmented MP4 and an open one cut mid-recording: duration, size and a decoded frame', async () => {
    const camera = new RtspCamera(server.url('/h264'), { frames: true, transport: 'tcp' });
    camera.on('error', () => undefined);
    const rec = new Recorder(camera, { path: join(dir, 'play-%H%M%S.mp4'), name: 'play' });
    const closed: SegmentRecord[] = [];
    rec.on('segment', (r: SegmentRecord) => closed.push(r));
    await rec.start();
    const end = Date.now() + 20_000;
    while (rec.stats().framesWritten < 3.5 * FPS && Date.now() < end) await sleep(20);
    // What a crash would leave now: the file as it is on disk while the recorder writes it.
    const cut = join(dir, 'cut.mp4');
    copyFileSync(rec.stats().path!, cut);
    await rec.stop();
    await camera.close();

    const whole = await play(closed[0]!.path);
    expect(whole.error).toBeNull();
    expect(Math.abs(whole.duration * 1000 - closed[0]!.durationMs!)).toBeLessThan(1000 / FPS + 1);
    expect([whole.width, whole.height]).toEqual([320, 240]);
    expect(whole.currentTime).toBeGreaterThanOrEqual(1);
    expect(whole.coloured).toBeGreaterThan(0.3);

    const cutMp4 = readFmp4(cut);
    const partial = await play(cut);
    expect(partial.error).toBeNull();
    expect([partial.width, partial.height]).toEqual([320, 240]);
    expect(partial.coloured).toBeGreaterThan(0.3);
    // Its duration is what the complete fragments hold, within a fragment (0.5 s at this key interval). Chromium
    // estimates the duration of an unfinished file served whole: exact to a frame with 6 complete fragments, 3.23–3.27 s
    // for 7 holding 3.5 s (with reads at every event as with the read tick: where the copy lands decides).
    if (process.env.RECORD_FIGURES) console.log(JSON.stringify({ whole, partial, cut: { samples: cutMp4.samples, seconds: cutMp4.durationSeconds } }));
    expect(Math.abs(partial.duration - cutMp4.durationSeconds)).toBeLessThanOrEqual(15 / FPS + 0.001);
    expect(browser.pageErrors).toEqual([]);
  }, 90_000);
});
