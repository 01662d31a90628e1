import { ROW_F64 } from '../kernel/contract.js';
import type { WindowSpecOptions } from '../kernel/window-spec.js';
import type { RoadPoint, WeatherReading } from '../join/types.js';
import type { CalendarOptions } from '../join/calendar.js';
import type { PartitionStart } from './admission.js';
import type { RiskModelJson } from '../model/risk-model.js';
import type { ScheduleEntry } from '../model/model-schedule.js';
import type { RiskLevels } from '../model/risk-levels.js';

/**
 * Messages between the host and a shard worker. A shard owns whole partitions (Kafka Streams' task
 * model): the host hands it each fetched batch of its partitions as raw bytes, and the shard
 * decodes, checks, admits and windows the events itself. The host only combines the per-partition
 * progress the shards report into the stream watermark W and tells every shard how far windows may
 * close. Per event, the host does nothing.
 */

export interface ShardPoint {
  index: number;
  pointId: string;
  allowedSpeedKmh: number | null;
  station: string;
}

/** Once per process: every shard knows every point (a point lives where its events arrive). */
export interface InitTask {
  kind: 'init';
  shard: number;
  spec: WindowSpecOptions;
  pointCapacity: number;
  partitions: number;
  startWallClockS: number;
  points: ShardPoint[];
  /** Per point: the partition its key goes to with --partitioner (where its rows belong until seen). */
  keyPartition: Int32Array;
  /** The final join a shard does for its rows (road, calendar, weather) and the model that scores them. */
  join: ShardJoin;
  wasmPath?: string;
}

/** What a shard needs to turn a kernel row into the published record (output.ts). */
export interface ShardJoin {
  points: RoadPoint[];
  /** Which model (and shadow model) scores which window end; riskModel validates each again in the shard. */
  schedule: ScheduleEntry<RiskModelJson>[];
  calendar: CalendarOptions;
  /** Score bands: a row whose active and shadow scores fall in different bands is a disagreement. */
  levels: RiskLevels;
}

/** Where one partition a shard reads starts (the host's plan, restart.ts). */
export interface ShardPartitionStart extends PartitionStart {
  slot: number;
  /** First offset read, and records before `replayUntil` are re-read (their dead letters were written). */
  readFrom: number;
  replayUntil: number;
}

/**
 * A new assignment: forget all window state (the partitions are re-read from their restart points)
 * and read `starts`' partitions from now on.
 */
export interface AssignTask {
  kind: 'assign';
  /** Per partition slot: the shard that reads it (-1: not this instance's). */
  shardOfPartition: Int32Array;
  /**
   * Per point (shared by the host and every shard, Int32): the partition its events arrived on
   * first, -1 until then. Written once per point by the shard that admits its first event.
   */
  learned: SharedArrayBuffer;
  starts: ShardPartitionStart[];
  nowS: number;
}

/**
 * The models changed: score by this schedule from now on. Sent to every shard in its FIFO queue,
 * and only changing window ends the host has not asked any shard to emit yet, so every shard scores
 * each window end with the same model.
 */
export interface ModelsTask {
  kind: 'models';
  schedule: ScheduleEntry<RiskModelJson>[];
}

export interface WeatherTask {
  kind: 'weather';
  readings: WeatherReading[];
}

/**
 * One fetched batch of one partition, as bytes: record k's value is bytes[valueStart[k],
 * valueEnd[k]) and its key bytes[keyStart[k], keyEnd[k]) (nulls[k]: 1 null value, 2 null key).
 */
export interface RecordsTask {
  kind: 'records';
  slot: number;
  count: number;
  bytes: ArrayBuffer;
  valueStart: Int32Array;
  valueEnd: Int32Array;
  keyStart: Int32Array;
  keyEnd: Int32Array;
  nulls: Uint8Array;
  offsets: Float64Array;
  nowS: number;
}

/**
 * The host's W moved (or the stream started: `startAt` is the W it started at, NaN after): emit the
 * window ends up to `advanceTo`, then retry partitions parked behind W.
 */
export interface AdvanceTask {
  kind: 'advance';
  startAt: number;
  advanceTo: number;
  nowS: number;
}

export type ShardTask = InitTask | AssignTask | WeatherTask | ModelsTask | RecordsTask | AdvanceTask;

/** ShardReport.shadow per row: no shadow model, both scores in one risk level, or in different ones. */
export const SHADOW_NONE = 0;
export const SHADOW_AGREES = 1;
export const SHADOW_DIFFERS = 2;

/** Per row of ShardReport.keys: the dense point index, then the window end. */
export const KEY_POINT = 0;
export const KEY_WINDOW_END = 1;
export const KEY_F64 = 2;

/**
 * Weather appended to each kernel row by the shard: [present (1|0), timestamp, temp, snow, rain,
 * pressure, wind, visibility], NaN where absent.
 */
export const WEATHER_PRESENT = 0;
export const WEATHER_TIMESTAMP = 1;
export const WEATHER_F64 = 8;
export const OUT_ROW_WEATHER = ROW_F64;
export const OUT_ROW_F64 = ROW_F64 + WEATHER_F64;

/** What a shard decided for one partition since its last report. */
export interface PartitionReport {
  slot: number;
  /** The first checked event's time before the start (NaN: none, or already reported). */
  firstTime: number;
  maxEventTime: number;
  /** Records wait in the shard (the partition runs ahead of W). */
  parked: boolean;
  /** Fetched batches of the partition waiting in the shard (the host pauses fetching past a few). */
  waiting: number;
  /** OffsetTracker.snapshot of the partition (position, restart-point ring). */
  offsets: Float64Array;
}

/** A record (or events inside a FlatBuffers record) the shard refused. */
export interface ShardDeadLetter {
  slot: number;
  offset: number;
  reason: string;
  detail: string;
  events?: [number, string][];
}

export interface ShardReport {
  /**
   * Per row: its dense point index and window end (2 values a row). The shard already joined,
   * scored and serialized the row (values); the host needs only what decides whether it publishes it.
   */
  keys: Float64Array;
  rowCount: number;
  /** Per row: the published record (JSON), joined and scored in the shard. */
  values: string[];
  /** Per row: 1 when the record's risk.reliable is true. */
  reliable: Uint8Array;
  /** Per row: SHADOW_NONE, SHADOW_AGREES or SHADOW_DIFFERS (the levels of the active and shadow scores). */
  shadow: Uint8Array;
  finalEnds: number[];
  partitions: PartitionReport[];
  dead: ShardDeadLetter[];
  /** (point, slot) pairs: points whose first event this shard admitted. */
  learned: number[];
}
