// The per-event hot path: validate in the contract's order, add to one pane, move the watermark,
// emit what became final. A refused event only writes its (index, reason) pair to the rejections.

import {
  COL_GAP_M,
  COL_GAP_S,
  COL_LANE,
  COL_LENGTH,
  COL_PARTITION,
  COL_POINT,
  COL_SPEED,
  COL_T_IN_1,
  COL_T_IN_2,
  COL_T_OUT_1,
  COL_T_OUT_2,
  MAX_LANES,
  MAX_LENGTH_M,
  MAX_SPEED_KMH,
  PANE_COUNTER_MAX,
  REASON_BAD_TIMESTAMPS,
  REASON_BEYOND_RING,
  REASON_LANE_OUT_OF_RANGE,
  REASON_LATE,
  REASON_LENGTH_OUT_OF_RANGE,
  REASON_NEGATIVE_GAP,
  REASON_NOT_FINITE,
  REASON_OK,
  REASON_PANE_FULL,
  REASON_SPEED_OUT_OF_RANGE,
  REASON_TOO_FAR_AHEAD,
  REASON_UNKNOWN_POINT,
  SPEED_SHIFT_KMH,
} from './constants';
import { advanceS, batchCapacity, F64_COLUMN_STRIDE, f64Column, graceS, I32_COLUMN_STRIDE, i32Column, maxSkewS, PANE_BYTES, partitionCount, pointCapacity, rejectionsPtr, ringPanes } from './layout';
import { addToPane, exactToI32, PANE_COUNT, PANE_LANE_SPEED, paneAt, slotOf } from './pane';
import { isRegistered, pointEntry, slotHolder } from './points';
import { emitFinalEnds, resetEmitOutput } from './emit';
import {
  acceptOnPartition,
  basePane,
  externalWatermark,
  firstNeededRel,
  invalidateCandidate,
  nextEndS,
  raiseExternalWatermark,
  ringOrigin,
  started,
  startStream,
  tickWatermark,
  watermark,
} from './watermark';

export let rejectionCount: i32 = 0;

// Byte offsets of each column from column 0 (compile-time: the columns have a fixed stride).
const F64_AT_T_IN_1: usize = <usize>COL_T_IN_1 * F64_COLUMN_STRIDE;
const F64_AT_T_OUT_1: usize = <usize>COL_T_OUT_1 * F64_COLUMN_STRIDE;
const F64_AT_T_IN_2: usize = <usize>COL_T_IN_2 * F64_COLUMN_STRIDE;
const F64_AT_T_OUT_2: usize = <usize>COL_T_OUT_2 * F64_COLUMN_STRIDE;
const F64_AT_SPEED: usize = <usize>COL_SPEED * F64_COLUMN_STRIDE;
const F64_AT_GAP_M: usize = <usize>COL_GAP_M * F64_COLUMN_STRIDE;
const F64_AT_GAP_S: usize = <usize>COL_GAP_S * F64_COLUMN_STRIDE;
const F64_AT_LENGTH: usize = <usize>COL_LENGTH * F64_COLUMN_STRIDE;
const I32_AT_POINT: usize = <usize>COL_POINT * I32_COLUMN_STRIDE;
const I32_AT_LANE: usize = <usize>COL_LANE * I32_COLUMN_STRIDE;
const I32_AT_PARTITION: usize = <usize>COL_PARTITION * I32_COLUMN_STRIDE;
export const INGEST_BAD_RANGE: i32 = i32.MIN_VALUE;

/**
 * Events are processed in blocks; before a block, the panes of the next block are touched with
 * plain loads (WASM has no prefetch instruction). With thousands of points the rings do not fit
 * the caches, each event's pane is a cache miss, and touching a block ahead lets those misses
 * overlap instead of stalling one event at a time.
 */
const TOUCH_BLOCK: i32 = 16;
/** Touching pays only when the rings outgrow the caches; below this it only adds work (~10 %). */
const TOUCH_MIN_PANE_BYTES: usize = 1 << 20;
// @ts-ignore: decorator
@inline function touchAheadFor(paneBytes: usize): bool {
  return paneBytes > TOUCH_MIN_PANE_BYTES;
}
/** Where the touched values go, so the optimizer cannot drop the loads. */
let touchSink: i32 = 0;

// @ts-ignore: decorator
@inline function touchPanes(from: i32, to: i32, cTOut2: usize, cPoint: usize, inverseAdvance: f64): void {
  let acc = 0;
  const twoRings = <u32>ringPanes << 1;
  for (let j = from; j < to; j++) {
    const point = load<i32>(cPoint + (<usize>j << 2));
    if (<u32>point >= <u32>pointCapacity) continue;
    // An estimate of the pane is enough here (the exact division happens when the event is checked).
    const q = exactToI32(Math.floor(load<f64>(cTOut2 + (<usize>j << 3)) * inverseAdvance) - basePane);
    let d = q - ringOrigin;
    if (<u32>d >= twoRings) continue;
    if (d >= ringPanes) d -= ringPanes;
    const pane = paneAt(point, d);
    // The three hot lines (pane.ts). Touching the point entry as well measured no better.
    acc += load<i32>(pane) + load<i32>(pane, PANE_LANE_SPEED) + load<i32>(pane, PANE_COUNT);
  }
  touchSink += acc;
}

function resetOutput(): void {
  resetEmitOutput();
  rejectionCount = 0;
}

/** Whether all eight are finite: x - x is 0 for a finite x and NaN otherwise, and NaN spreads. */
// @ts-ignore: decorator
@inline function allFinite(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64): bool {
  return (a - a) + (b - b) + (c - c) + (d - d) + (e - e) + (f - f) + (g - g) + (h - h) == 0;
}

/**
 * Processes events [start, end) of the input columns with wall clock `nowS`.
 * Returns the index of the first event not processed: `end` when done, less when the row or
 * final-end buffer filled up (drain them and call again from there). Window ends owed from an
 * earlier call are emitted first. When `checkPartitions` is set, a partition slot outside
 * 0..partitions-1 anywhere in the range is a host bug: nothing is processed and -(index + 1) of
 * the first such event is returned. A range outside the input columns returns INGEST_BAD_RANGE.
 */
export function ingest(start: i32, end: i32, nowS: f64, checkPartitions: bool): i32 {
  resetOutput();
  if (start < 0 || start > end || end > batchCapacity) return INGEST_BAD_RANGE;
  const cPartition = i32Column(COL_PARTITION);
  if (checkPartitions) {
    for (let i = start; i < end; i++) {
      if (<u32>load<i32>(cPartition + (<usize>i << 2)) >= <u32>partitionCount) return -(i + 1);
    }
  }
  if (!emitFinalEnds()) return start;
  invalidateCandidate();

  // One address per event and constant column offsets (layout.ts: the columns' fixed stride).
  const cF64 = f64Column(0);
  const cI32 = i32Column(0);
  const latestAllowed = nowS + maxSkewS;
  const inverseAdvance = 1.0 / advanceS;
  const touchAhead = touchAheadFor(<usize>pointCapacity * <usize>ringPanes * <usize>PANE_BYTES);

  for (let i = start; i < end; i++) {
    if ((i & (TOUCH_BLOCK - 1)) == 0 && started && touchAhead) {
      touchPanes(i + TOUCH_BLOCK, min(i + 2 * TOUCH_BLOCK, end), cF64 + F64_AT_T_OUT_2, cI32 + I32_AT_POINT, inverseAdvance);
    }
    const o8 = <usize>i << 3;
    const o4 = <usize>i << 2;
    const f = cF64 + o8;
    const n = cI32 + o4;
    const tIn1 = load<f64>(f, F64_AT_T_IN_1);
    const tOut1 = load<f64>(f, F64_AT_T_OUT_1);
    const tIn2 = load<f64>(f, F64_AT_T_IN_2);
    const tOut2 = load<f64>(f, F64_AT_T_OUT_2);
    const speed = load<f64>(f, F64_AT_SPEED);
    const gapM = load<f64>(f, F64_AT_GAP_M);
    const gapS = load<f64>(f, F64_AT_GAP_S);
    const length = load<f64>(f, F64_AT_LENGTH);
    const point = load<i32>(n, I32_AT_POINT);
    const lane = load<i32>(n, I32_AT_LANE);

    let reason = REASON_OK;
    if (!allFinite(tIn1, tOut1, tIn2, tOut2, speed, gapM, gapS, length)) {
      reason = REASON_NOT_FINITE;
    } else if (!isRegistered(point)) {
      reason = REASON_UNKNOWN_POINT;
    } else if (<u32>(lane - 1) >= <u32>MAX_LANES) {
      reason = REASON_LANE_OUT_OF_RANGE;
    } else if (speed < 0 || speed > MAX_SPEED_KMH) {
      reason = REASON_SPEED_OUT_OF_RANGE;
    } else if (gapM < 0 || gapS < 0) {
      reason = REASON_NEGATIVE_GAP;
    } else if (length < 0 || length > MAX_LENGTH_M) {
      reason = REASON_LENGTH_OUT_OF_RANGE;
    } else if (tIn1 < 0 || tOut1 < 0 || tIn2 < 0 || tOut2 < 0 || tOut1 < tIn1) {
      reason = REASON_BAD_TIMESTAMPS;
    } else if (tOut2 > latestAllowed) {
      reason = REASON_TOO_FAR_AHEAD;
    } else {
      const paneAbs = Math.floor(tOut2 / advanceS);
      if (!started && externalWatermark) {
        reason = REASON_BEYOND_RING; // no ring position before the host's first advanceWatermark
      } else if (
        // With an external watermark the host decides lateness: a closed pane is still taken while
        // a window to come needs it (kernel.ts). Otherwise: late once W passed the pane's end.
        externalWatermark ? paneAbs - basePane < <f64>firstNeededRel : watermark >= (paneAbs + 1) * advanceS
      ) {
        reason = REASON_LATE;
      } else if (started && paneAbs - basePane >= <f64>(firstNeededRel + ringPanes)) {
        reason = REASON_BEYOND_RING;
      } else {
        // The first event cannot hit a full pane or lie beyond the ring, so starting here, before
        // the PANE_FULL test, still leaves a refused event without effect.
        if (!started) startStream(tOut2 - graceS);
        const q = exactToI32(paneAbs - basePane); // inside the ring: a small integer
        const slot = slotOf(q);
        const entry = pointEntry(point);
        const holder = slotHolder(entry, slot);
        const pane = paneAt(point, slot);
        // A slot holds pane q or an older one no window needs any more (then addToPane clears it).
        if (load<i32>(holder) == q && <i32>load<u16>(pane, PANE_COUNT) >= PANE_COUNTER_MAX) {
          reason = REASON_PANE_FULL;
        } else {
          addToPane(pane, holder, q, tIn1, tOut1, speed, gapM, gapS, length, lane, load<f64>(entry), SPEED_SHIFT_KMH);
          acceptOnPartition(load<i32>(n, I32_AT_PARTITION), tOut2, nowS);
          if (nextEndS <= watermark && !emitFinalEnds()) return i + 1;
        }
      }
    }
    if (reason != REASON_OK) {
      const r = rejectionsPtr + (<usize>rejectionCount << 3);
      store<i32>(r, i);
      store<i32>(r, reason, 4);
      rejectionCount++;
    }
  }
  return end;
}

/** Wall clock passes without events: idle partitions stop holding W back. 1 = done, 0 = output full. */
export function tick(nowS: f64): i32 {
  resetOutput();
  tickWatermark(nowS);
  return emitFinalEnds() ? 1 : 0;
}

/** Raises W from outside. 1 = done, 0 = output full (drain, then flush()). */
export function advanceWatermark(w: f64): i32 {
  resetOutput();
  raiseExternalWatermark(w);
  return emitFinalEnds() ? 1 : 0;
}

/** Emits window ends still owed after a call stopped on a full output. 1 = done, 0 = full again. */
export function flush(): i32 {
  resetOutput();
  return emitFinalEnds() ? 1 : 0;
}
