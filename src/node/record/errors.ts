// The recorder's one error class. Every error names the camera and, where there is one, the file: with many cameras
// recording at once, "disk full" alone does not say which recording stopped.

import { WasmRtspError } from '../../core/errors.js';

/**
 * Recording failed. `code` is one of: 'BAD_OPTION' (an option out of range), 'BAD_TEMPLATE' (a path template field
 * the recorder does not know), 'BAD_EXTENSION' (no container for the file's extension: .mp4, .mkv or .ts),
 * 'NO_DIRECTORY' (the directory does not exist), 'UNWRITABLE' (a file cannot be created there), 'FILE_EXISTS' (the
 * file is there and `overwrite` is off), 'NO_STREAM' (the camera has no stream the recorder can take),
 * 'UNSUPPORTED_STREAM' (the container cannot hold the stream's codec), 'STREAM_REFUSED' (GStreamer refused the
 * stream's caps: the recorder stops), 'WRITE_FAILED' (writing the file failed: disk full, I/O error; the recorder
 * starts a new file at a later keyframe), 'PIPELINE' (another GStreamer error in a segment's pipeline),
 * 'SNAPSHOT_FAILED' (a snapshot could not be made; the recording goes on), 'GST_UNAVAILABLE' (the GStreamer binding
 * cannot be loaded), 'STATE' (used in the wrong state), 'THREAD_POOL' (a 'warning': more recording pipelines than
 * libuv pool threads; set UV_THREADPOOL_SIZE). `camera` and `path` say where.
 */
export class RecordError extends WasmRtspError {
  /** The camera's name in the recorder. */
  readonly camera: string;
  /** The file concerned, when there is one. */
  readonly path: string | undefined;
  constructor(code: string, message: string, options: { camera: string; path?: string; context?: Record<string, unknown>; cause?: unknown }) {
    super(code, message, { cause: options.cause, context: { camera: options.camera, path: options.path, ...options.context } });
    this.camera = options.camera;
    this.path = options.path;
  }
}
