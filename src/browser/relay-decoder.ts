// H.264 / H.265 on the relay page: the wasm Depayloader (src/core/depay.ts) assembles access units, WebCodecs
// VideoDecoder decodes them. Until the depayloader is available this path reports the stream as not decodable here.

import type { Core } from './index.js';
import type { CameraCounters, RelayStreamInfo, VideoSink } from './relay-view.js';

/** A VideoSink decoding `stream` with WebCodecs, or undefined (with a note on the tile) when it cannot. */
export async function createVideoDecoderSink(
  _core: Core, _canvas: HTMLCanvasElement, stream: RelayStreamInfo, counters: CameraCounters, note: (text: string) => void,
): Promise<VideoSink | undefined> {
  counters.lastError = `${stream.encodingName}: no depayloader in this build`;
  note(counters.lastError);
  return undefined;
}
