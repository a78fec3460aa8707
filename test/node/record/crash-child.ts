// Child process of the crash test: records one camera into fragmented MP4 (2 s segments), Matroska and MPEG-TS at
// once and prints, every 50 ms, each recorder's frames written so far, until the parent kills it with SIGKILL.
import { RtspCamera } from '../../../src/node/index.js';
import { Recorder } from '../../../src/node/record/index.js';

const [url, dir] = process.argv.slice(2) as [string, string];
const camera = new RtspCamera(url, { frames: true, transport: 'tcp' });
camera.on('error', () => undefined);
const recs = [
  new Recorder(camera, { path: `${dir}/crash-%H%M%S.mp4`, name: 'mp4', segmentSeconds: 2 }),
  new Recorder(camera, { path: `${dir}/crash.mkv`, name: 'mkv' }),
  new Recorder(camera, { path: `${dir}/crash.ts`, name: 'ts' }),
];
for (const r of recs) r.on('error', (e) => console.log(JSON.stringify({ error: e.code, message: e.message })));
await Promise.all(recs.map((r) => r.start()));
console.log(JSON.stringify({ started: true, index: recs.map((r) => r.indexPath) }));
setInterval(() => console.log(JSON.stringify({ written: recs.map((r) => r.stats().framesWritten) })), 50);
