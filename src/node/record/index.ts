// The recorder: crash-safe segmented recordings of a camera's stream, an index per camera, retention.
export {
  Recorder, type RecorderOptions, type RecorderState, type RecorderStats, DEFAULT_FRAGMENT_MS, MAX_FRAGMENT_MS,
  DEFAULT_RETRY_MS, DEFAULT_RECORD_QUEUE_BYTES,
} from './recorder.js';
export { RecordError } from './errors.js';
export { SegmentIndex, segmentsToDelete, type SegmentRecord, type SegmentState, type SegmentReason, type RetentionLimits } from './segment-index.js';
export { CONTAINERS, checkTemplate, renderTemplate, fixedDirectory, indexDirectory, safeName, type Container } from './template.js';
