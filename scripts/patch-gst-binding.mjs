#!/usr/bin/env node
// Mends a memory leak in gstreamer-superficial 1.7.4 and rebuilds its addon, wherever the binding is installed: in
// this repository (scripts/setup.sh runs it after `npm ci`) or in an application that installed wasm-rtsp from npm:
//
//   node node_modules/wasm-rtsp/scripts/patch-gst-binding.mjs     # prints "done" only once the new addon is built
//
// Reading a GObject property through the binding never releases the GValue it read into, nor the string GValue it
// transforms 64-bit integers and structures into: every read of appsrc's `current-level-bytes` (guint64) leaked
// ~32 bytes and every read of a sink's `stats` (GstStructure) ~450 bytes (measured: 500 000 reads, RSS +15.6 MB and
// +219 MB). GstSink reads the queue level every few pushes to bound and count its drops, and stats() reads the sinks'
// counters, so a long run grew by ~330 kB/min per 4 streams (npm run bench:soak). The two g_value_unset calls below are
// the fix.
//
// The binding is found the way wasm-rtsp's own code finds it (resolved from this file), so in an application it is
// the hoisted node_modules/gstreamer-superficial, not a copy under node_modules/wasm-rtsp. It is rebuilt in its own
// folder with its own install script (`node-gyp rebuild`; npm puts its bundled node-gyp on the PATH). An earlier
// version ran `npm rebuild gstreamer-superficial` from wasm-rtsp's folder, which in an application finds no such
// package there, rebuilds nothing and still succeeds: the sources were patched, the addon was not. Now the addon's
// SHA-256 must change when the sources were just patched, and a stamp beside it (the hash of the addon built from the patched sources) tells a later run
// that nothing is left to do; a patched source without a matching stamp is rebuilt.
//
// A second patch adds `stage(view[, pts])` and `flush()` to appsrc elements: stage copies the bytes into a GstBuffer
// and adds it to a list kept on the element; flush hands the list to gst_app_src_push_buffer_list. Each push wakes
// the appsrc's streaming thread (its queue's condition is signalled), and on this kind of VM the wake-ups, not the
// copying, are the price: GstSink stages what one read brings and flushes each branch once (one wake per camera per
// read tick instead of one per frame). Each patch has its own marker, so an install patched by an earlier version
// gets the new one on the next run.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARKER = '/* wasm-rtsp: GValue released (scripts/patch-gst-binding.mjs) */';
const LISTS = '/* wasm-rtsp: appsrc buffer lists (scripts/patch-gst-binding.mjs) */';
const ADDON = 'build/Release/gstreamer-superficial.node';
const STAMP = 'build/Release/wasm-rtsp-patched.json';

let dir;
try {
  dir = dirname(createRequire(import.meta.url).resolve('gstreamer-superficial/package.json'));
} catch {
  console.log('patch-gst-binding: gstreamer-superficial is not installed (optional): nothing to do');
  process.exit(0);
}

function fail(message) {
  console.error(`patch-gst-binding: ${message}`);
  process.exit(1);
}

/** Replaces `from` by `to` in `file` of the binding; fails loudly when the source is not the one this patch knows. */
function edit(file, from, to, marker = MARKER) {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (text.includes(marker)) return false;
  if (!text.includes(from)) fail(`${path} is not the gstreamer-superficial 1.7.4 source this patch knows`);
  writeFileSync(path, text.replace(from, to));
  return true;
}

function addonHash() {
  const path = join(dir, ADDON);
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
}

function stampedHash() {
  try {
    return JSON.parse(readFileSync(join(dir, STAMP), 'utf8')).sha256;
  } catch {
    return undefined;
  }
}

// stage(view[, pts]): the view's bytes into a new GstBuffer (PTS from the second view's first 8 bytes, big-endian, ns),
// added to the element's pending list (qdata, released with the element); answers the list's length.
// flush(): pushes the pending list, if any, with gst_app_src_push_buffer_list (one signal of the queue's condition);
// answers how many buffers it pushed.
const STAGE_AND_FLUSH_MARKER = '/* wasm-rtsp: stage and flush (scripts/patch-gst-binding.mjs) */';
const STAGE_AND_FLUSH = `${STAGE_AND_FLUSH_MARKER}
static GQuark wasmRtspStagedQuark() {
\tstatic GQuark quark = g_quark_from_static_string("wasm-rtsp-staged");
\treturn quark;
}

NAN_METHOD(GObjectWrap::GstAppSrcStage) {
\tauto *obj = Nan::ObjectWrap::Unwrap<GObjectWrap>(info.This());
\tif (info.Length() < 1 || !info[0]->IsArrayBufferView()) {
\t\tNan::ThrowTypeError("stage(view[, pts]) takes a Uint8Array");
\t\treturn;
\t}
\tLocal<Object> o = info[0].As<Object>();
\tchar *data = node::Buffer::Data(o);
\tsize_t length = node::Buffer::Length(o);
\tGstBuffer *buffer = gst_buffer_new_allocate(nullptr, length, nullptr);
\tgst_buffer_fill(buffer, 0, data, length);
\tif (info.Length() > 1 && info[1]->IsArrayBufferView() && node::Buffer::Length(info[1].As<Object>()) >= 8) {
\t\tbuffer->pts = GST_READ_UINT64_BE(node::Buffer::Data(info[1].As<Object>()));
\t}
\tGstBufferList *list = (GstBufferList *) g_object_get_qdata(obj->obj, wasmRtspStagedQuark());
\tif (list == nullptr) {
\t\tlist = gst_buffer_list_new();
\t\tg_object_set_qdata_full(obj->obj, wasmRtspStagedQuark(), list, (GDestroyNotify) gst_mini_object_unref);
\t}
\tgst_buffer_list_add(list, buffer);
\tinfo.GetReturnValue().Set(Nan::New<Uint32>(gst_buffer_list_length(list)));
}

NAN_METHOD(GObjectWrap::GstAppSrcFlush) {
\tauto *obj = Nan::ObjectWrap::Unwrap<GObjectWrap>(info.This());
\tGstBufferList *list = (GstBufferList *) g_object_steal_qdata(obj->obj, wasmRtspStagedQuark());
\tguint n = 0;
\tif (list != nullptr) {
\t\tn = gst_buffer_list_length(list);
\t\tgst_app_src_push_buffer_list(GST_APP_SRC(obj->obj), list);
\t}
\tinfo.GetReturnValue().Set(Nan::New<Uint32>(n));
}
`;

const changed = [
  edit('GObjectWrap.cpp',
    '\t\tg_object_get_property(o, *name, &gv);\n\n\t\tinfo.GetReturnValue().Set(gvalue_to_v8(&gv));',
    `\t\tg_object_get_property(o, *name, &gv);\n\n\t\t${MARKER}\n\t\tLocal<Value> value = gvalue_to_v8(&gv);\n\t\tg_value_unset(&gv);\n\t\tinfo.GetReturnValue().Set(value);`),
  edit('GLibHelpers.cpp',
    '\t\tg_value_transform(gv, &b);\n\t\treturn gchararray_to_v8(&b);',
    `\t\tg_value_transform(gv, &b);\n\t\t${MARKER}\n\t\tLocal<Value> s = gchararray_to_v8(&b);\n\t\tg_value_unset(&b);\n\t\treturn s;`),
  edit('GObjectWrap.h',
    '        static NAN_METHOD(GstAppSrcPush);\n',
    `        static NAN_METHOD(GstAppSrcPush);\n\t\t${LISTS}\n\t\tstatic NAN_METHOD(GstAppSrcStage);\n\t\tstatic NAN_METHOD(GstAppSrcFlush);\n`, LISTS),
  edit('GObjectWrap.cpp',
    '\t    Nan::SetMethod(instance, "push", GstAppSrcPush);\n',
    `\t    Nan::SetMethod(instance, "push", GstAppSrcPush);\n\t    ${LISTS}\n\t    Nan::SetMethod(instance, "stage", GstAppSrcStage);\n\t    Nan::SetMethod(instance, "flush", GstAppSrcFlush);\n`, LISTS),
  edit('GObjectWrap.cpp', 'NAN_METHOD(GObjectWrap::GstAppSrcPush) {', `${STAGE_AND_FLUSH}\nNAN_METHOD(GObjectWrap::GstAppSrcPush) {`, STAGE_AND_FLUSH_MARKER),
].some(Boolean);

const before = addonHash();
if (!changed && before !== undefined && before === stampedHash()) {
  console.log(`patch-gst-binding: already patched and rebuilt (${dir})`);
  process.exit(0);
}

console.log(`patch-gst-binding: rebuilding ${dir} with the leak mended…`);
// The binding's own install script, run by npm in the binding's folder: npm supplies node-gyp. Under `npm run`/`npx`,
// npm_execpath names the npm that runs us; otherwise the npm on the PATH.
const npmCli = process.env.npm_execpath;
const [command, prefix] = npmCli && /npm-cli\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
try {
  execFileSync(command, [...prefix, 'run', 'install', '--ignore-scripts=false'], { cwd: dir, stdio: 'inherit' });
} catch (e) {
  fail(`the rebuild failed (${e.message}); the sources are patched: run "npm run install" in ${dir} once the build tools (python3, make, g++, libgstreamer1.0-dev) are there`);
}
const after = addonHash();
if (after === undefined) fail(`the rebuild left no addon at ${join(dir, ADDON)}`);
// Freshly patched sources must give another addon; sources patched earlier may rebuild into the same bytes.
if (changed && after === before) fail(`the addon at ${join(dir, ADDON)} is the same file as before the rebuild: it was not rebuilt`);
writeFileSync(join(dir, STAMP), JSON.stringify({ sha256: after, patched: MARKER }) + '\n');
console.log(`patch-gst-binding: done (${join(dir, ADDON)} rebuilt)`);
