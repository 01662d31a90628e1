// Entry point of the window kernel module: the exports the host (src/kernel/wasm-kernel.ts) uses.
// Memory layout: layout.ts; pane layout: pane.ts; point table: points.ts; partitions: watermark.ts.

export * from './constants';
export { ingest, tick, advanceWatermark, flush } from './ingest';
export { fbValidate, fbFill } from './flatbuffers';

import { FB_BAD_RANGE, INIT_OK } from './constants';
import { fbFill } from './flatbuffers';
import { ingest } from './ingest';
import { rejectionCount } from './ingest';
import { finalEndCount, rowCount } from './emit';
import * as L from './layout';
import { EMPTY_PANE } from './pane';
import { clearSlots, registerPoint, registeredCount } from './points';
import { fbEventCount, fbPointIdCount, LOOP_EVENT_BYTES } from './flatbuffers';
import { nextEndS, resetPartitions, setExternalWatermark, started, watermark } from './watermark';

export const PANE_BYTES: i32 = L.PANE_BYTES;
export const PARTITION_BYTES: i32 = L.PARTITION_BYTES;
export const FB_LOOP_EVENT_BYTES: i32 = LOOP_EVENT_BYTES;
export const MAX_BATCH_EVENTS: i32 = L.MAX_BATCH;

let startWallClock: f64 = 0;

/** Lays out memory and sets every pane empty. Returns INIT_OK or an INIT_* code. */
export function init(
  pointCapacity: i32,
  partitions: i32,
  advanceS: f64,
  shortPanes: i32,
  longPanes: i32,
  ringPanes: i32,
  graceS: f64,
  maxSkewS: f64,
  idleTimeoutS: f64,
  startWallClockS: f64,
  batchCapacity: i32,
  rowCapacity: i32,
  finalEndCapacity: i32,
  pointIdCapacity: i32,
  messageCapacity: i32,
  externalWatermark: i32,
): i32 {
  const code = L.configure(pointCapacity, partitions, advanceS, shortPanes, longPanes, ringPanes, graceS,
    maxSkewS, idleTimeoutS, batchCapacity, rowCapacity, finalEndCapacity, pointIdCapacity, messageCapacity);
  if (code != INIT_OK) return code;
  startWallClock = startWallClockS;
  setExternalWatermark(externalWatermark != 0);
  reset();
  return INIT_OK;
}

/** Forgets all traffic and watermarks (points stay registered): the state right after init. */
export function reset(): void {
  clearSlots(EMPTY_PANE); // a pane's bytes are cleared when its slot takes it
  resetPartitions(startWallClock);
}

/** Registers a point or changes its allowed speed (NaN = none). 0 = ok, 1 = index out of range. */
export function setPoint(point: i32, allowedSpeedKmh: f64): i32 {
  return registerPoint(point, allowedSpeedKmh) ? 0 : 1;
}

/**
 * Fills the input columns from events [first, first + count) of the validated message and ingests
 * them (see ingest for the result; resume with ingest(next, count, nowS, false)).
 */
export function fbIngest(first: i32, count: i32, partition: i32, nowS: f64): i32 {
  if (<u32>partition >= <u32>L.partitionCount) return FB_BAD_RANGE;
  const filled = fbFill(first, count, partition);
  if (filled < 0) return filled;
  return ingest(0, count, nowS, false);
}

export function bytesPerPoint(): i32 {
  return L.bytesPerPoint();
}
/** Window state per point for a ring of `ringPanes` panes, before init (WasmKernel.bytesPerPoint). */
export function bytesPerPointFor(ringPanes: i32): f64 {
  return L.bytesPerPointFor(ringPanes);
}
export function requestedBytes(): f64 {
  return L.requestedBytes;
}
export function currentWatermark(): f64 {
  return watermark;
}
/** 1 when window ends are owed (the watermark passed them) but not yet emitted: call flush(). */
export function owesEnds(): i32 {
  return started && nextEndS <= watermark ? 1 : 0;
}
export function hasStarted(): i32 {
  return started ? 1 : 0;
}
export function registeredPoints(): i32 {
  return registeredCount;
}
export function rowsWritten(): i32 {
  return rowCount;
}
export function rejectionsWritten(): i32 {
  return rejectionCount;
}
export function finalEndsWritten(): i32 {
  return finalEndCount;
}
export function messagePointIds(): i32 {
  return fbPointIdCount;
}
export function messageEvents(): i32 {
  return fbEventCount;
}

// Region addresses for the host's typed-array views.
export function f64ColumnPtr(column: i32): usize {
  return L.f64Column(column);
}
export function i32ColumnPtr(column: i32): usize {
  return L.i32Column(column);
}
export function rejectionsPtr(): usize {
  return L.rejectionsPtr;
}
export function rowsPtr(): usize {
  return L.rowsPtr;
}
export function finalEndsPtr(): usize {
  return L.finalEndsPtr;
}
export function pointIdSpansPtr(): usize {
  return L.pointIdSpansPtr;
}
export function pointIdMapPtr(): usize {
  return L.pointIdMapPtr;
}
export function messagePtr(): usize {
  return L.messagePtr;
}
