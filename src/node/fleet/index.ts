// Fleets: a config file of cameras (config.ts), what a reload changes (diff.ts), which cameras a shard runs (shard.ts).
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export {
  loadConfig, parseConfig, configSchema, formatPath, toSeconds, toBytes, CONFIG_SCHEMA_URL, MAX_CONFIG_BYTES,
  CAMERA_DEFAULTS, type CameraSpec, type RecordSpec, type FleetConfig, type FleetSettings, type ParseConfigOptions,
} from './config.js';
export { diffCameras, diffConfig, deepEqual, type CameraDiff, type ChangedCamera, type ConfigDiff } from './diff.js';
export {
  parseShard, resolveShard, shardOf, filterShard, hostOrdinal, fnv1a32, fmix32, shardWeight, SHARD_ENV, SHARDS_ENV,
  MAX_SHARDS, type Shard, type ResolvedShard, type ShardSources,
} from './shard.js';
