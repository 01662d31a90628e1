import { ROW_F64 } from '../kernel/contract.js';
import type { WindowSpecOptions } from '../kernel/window-spec.js';
import type { WeatherReading } from '../join/types.js';

/**
 * Messages between the host and a shard worker. Every shard owns one kernel and the points routed
 * to it; the host sends it segments of admitted events followed by the watermark to advance to.
 */

export interface ShardPoint {
  index: number;
  allowedSpeedKmh: number | null;
  station: string;
}

export interface InitTask {
  kind: 'init';
  shard: number;
  spec: WindowSpecOptions;
  pointCapacity: number;
  partitions: number;
  startWallClockS: number;
  points: ShardPoint[];
  wasmPath?: string;
}

export interface WeatherTask {
  kind: 'weather';
  readings: WeatherReading[];
}

/**
 * Admitted events (packed columns, see columns.ts). The shard first starts its kernel at `startAt`
 * (its first task only; NaN otherwise), ingests the events, then raises W to `advanceTo` (NaN:
 * leave W), emitting the window ends that became final.
 */
export interface SegmentTask {
  kind: 'segment';
  buffer: ArrayBuffer;
  count: number;
  nowS: number;
  startAt: number;
  advanceTo: number;
}

/** Forget all window state (partitions were reassigned; the host rebuilds from the input). */
export interface ResetTask {
  kind: 'reset';
}

export type ShardTask = InitTask | WeatherTask | SegmentTask | ResetTask;

/**
 * Weather appended to each kernel row by the shard: [present (1|0), timestamp, temp, snow, rain,
 * pressure, wind, visibility], NaN where absent.
 */
export const WEATHER_PRESENT = 0;
export const WEATHER_TIMESTAMP = 1;
export const WEATHER_F64 = 8;
export const OUT_ROW_WEATHER = ROW_F64;
export const OUT_ROW_F64 = ROW_F64 + WEATHER_F64;

export interface SegmentResult {
  /** rowCount rows of OUT_ROW_F64 values: the kernel row, then the weather block. */
  rows: Float64Array;
  rowCount: number;
  /** (index in the segment, reason) pairs of events the kernel refused. */
  rejections: Int32Array;
  finalEnds: number[];
}
