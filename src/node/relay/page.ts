// The relay's viewer page: static HTML, one tile per camera; all logic is in the browser module
// dist/browser/relay-view.js (source: src/browser/relay-view.ts), served under /lib/.

/** The page for `cameras` cameras. No external resources: works on a closed network. */
export function relayPageHtml(cameras: number): string {
  const tiles = Array.from({ length: cameras }, (_, i) => `
<section class="tile" id="camera-${i}" data-camera="${i}">
  <h2>camera ${i} <small class="url"></small></h2>
  <canvas class="picture" width="320" height="240"></canvas>
  <canvas class="chart" width="320" height="80"></canvas>
  <pre class="numbers">connecting…</pre>
  <pre class="notes"></pre>
</section>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wasm-rtsp relay</title>
<link rel="icon" href="data:,">
<style>
body { font: 14px system-ui, sans-serif; margin: 1em; background: #111; color: #ddd; }
main { display: flex; flex-wrap: wrap; gap: 1em; }
.tile { background: #1d1d1d; padding: .5em; border-radius: 6px; width: 340px; }
.tile h2 { font-size: 1em; margin: 0 0 .4em; } .tile small { color: #888; word-break: break-all; }
canvas { display: block; width: 320px; background: #000; margin-bottom: .3em; }
pre { margin: 0; font-size: 12px; white-space: pre-wrap; } .notes { color: #e9a23b; }
</style>
</head>
<body>
<h1>wasm-rtsp relay</h1>
<p id="support">checking WebCodecs…</p>
<main>${tiles}
</main>
<script type="module" src="/lib/browser/relay-view.js"></script>
</body>
</html>
`;
}
