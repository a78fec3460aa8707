// Child process of the isolation test, run under `ulimit -f` (SIGXFSZ ignored, so a write past the limit fails with
// EFBIG, as on a full disk): one camera, two recorders. 'small' cuts 1 s segments that stay under the limit, 'big'
// writes one file that passes it. Prints every error and, every 50 ms, both recorders' counters.
import { RtspCamera } from '../../../src/node/index.js';
import { Recorder } from '../../../src/node/record/index.js';

const [url, dir] = process.argv.slice(2) as [string, string];
const camera = new RtspCamera(url, { frames: true, transport: 'tcp' });
camera.on('error', () => undefined);
const small = new Recorder(camera, { path: `${dir}/small-%H%M%S.mp4`, name: 'small', segmentSeconds: 1 });
const big = new Recorder(camera, { path: `${dir}/big.mp4`, name: 'big', retryMs: 600_000 });
for (const r of [small, big]) {
  r.on('error', (e) => console.log(JSON.stringify({ error: { camera: e.camera, path: e.path, code: e.code, message: e.message } })));
}
await small.start();
await big.start();
console.log(JSON.stringify({ started: true, index: [small.indexPath, big.indexPath] }));
setInterval(() => console.log(JSON.stringify({ stats: [small.stats(), big.stats()] })), 50);
