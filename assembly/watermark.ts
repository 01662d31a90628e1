// Event-time bookkeeping: partition watermarks, the stream watermark W and where emission stands.
//
// Partition entry (PARTITION_BYTES = 32 each):
//   0  f64 maxEventTime      largest accepted tOut2 on the partition (valid once seen)
//   8  f64 lastSeenWallS     wall clock of its last accepted event; starts at startWallClockS
//   16 i32 seen              0 until the partition's first accepted event
//   20..32 (padding)
//
// Pane indexes are kept relative to `basePane`, the absolute pane holding W0 = t0 - grace of the
// first accepted event, so they stay small i32 values whatever the epoch or the advance.

import {
  advanceS,
  graceS,
  idleTimeoutS,
  longPanes,
  partitionCount,
  partitionsPtr,
  PARTITION_BYTES,
  ringPanes,
} from './layout';

/** Stream watermark W: -Infinity until the first event (or advanceWatermark), never decreasing. */
export let watermark: f64 = -Infinity;
/** Whether the first event was accepted (emission runs from then on). */
export let started = false;
/** Absolute pane index holding W0 of the first accepted event; relative pane 0. */
export let basePane: f64 = 0;
/** Relative index of the oldest unemitted window end: T = (basePane + nextEndRel) * advanceS. */
export let nextEndRel: i32 = 0;
/** The same end in seconds, cached for the per-event "anything to emit?" test. */
export let nextEndS: f64 = Infinity;
/** First pane still needed: the long window of the oldest unemitted end starts there. */
export let firstNeededRel: i32 = 0;
/** A multiple of ringPanes at or below firstNeededRel: ring slot = pane - ringOrigin (mod ringPanes). */
export let ringOrigin: i32 = 0;

// Min over non-idle partitions of their watermark, valid for one wall-clock value within one call
// (idleness depends on the wall clock). +Infinity: every partition is idle (W stays where it is).
let candidate: f64 = Infinity;
let candidateNowS: f64 = NaN;

// @ts-ignore: decorator
@inline function partitionEntry(partition: i32): usize {
  return partitionsPtr + <usize>partition * <usize>PARTITION_BYTES;
}

export function resetPartitions(startWallClockS: f64): void {
  for (let p = 0; p < partitionCount; p++) {
    const e = partitionEntry(p);
    store<f64>(e, -Infinity);
    store<f64>(e, startWallClockS, 8);
    store<i32>(e, 0, 16);
  }
  watermark = -Infinity;
  started = false;
  basePane = 0;
  nextEndRel = 0;
  nextEndS = Infinity;
  firstNeededRel = 0;
  ringOrigin = 0;
  invalidateCandidate();
}

export function invalidateCandidate(): void {
  candidateNowS = NaN;
}

function recomputeCandidate(nowS: f64): void {
  let c = Infinity;
  for (let p = 0; p < partitionCount; p++) {
    const e = partitionEntry(p);
    if (nowS - load<f64>(e, 8) >= idleTimeoutS) continue;
    const wm = load<i32>(e, 16) != 0 ? load<f64>(e) - graceS : -Infinity;
    if (wm < c) c = wm;
  }
  candidate = c;
  candidateNowS = nowS;
}

function raiseWatermarkToCandidate(): void {
  if (candidate != Infinity && candidate > watermark) watermark = candidate;
}

/**
 * Raises W from outside (monotone). Ignored before the first accepted event: there is no first
 * window end yet, and the first event alone defines where panes start (W0 = t0 - grace).
 */
export function raiseExternalWatermark(w: f64): void {
  if (started && w > watermark) watermark = w;
}

/** Idle detection without events (tick). */
export function tickWatermark(nowS: f64): void {
  recomputeCandidate(nowS);
  raiseWatermarkToCandidate();
}

/** The first accepted event fixes where panes and emission start. */
export function startStream(t0: f64): void {
  const w0 = t0 - graceS;
  basePane = Math.floor(w0 / advanceS);
  started = true;
  setNextEnd(1);
  const first = 1 - longPanes;
  ringOrigin = <i32>(Math.floor(<f64>first / <f64>ringPanes) * <f64>ringPanes);
  firstNeededRel = first;
  if (w0 > watermark) watermark = w0;
}

function setNextEnd(rel: i32): void {
  nextEndRel = rel;
  nextEndS = (basePane + <f64>rel) * advanceS;
}

/** Called once the window end nextEndS has been emitted. */
export function advanceNextEnd(): void {
  setNextEnd(nextEndRel + 1);
  firstNeededRel = nextEndRel - longPanes;
  if (firstNeededRel - ringOrigin >= ringPanes) ringOrigin += ringPanes;
}

/**
 * Updates partition and stream watermark after an accepted event at `t` on `partition`.
 * Recomputing the min over partitions is O(partitions); it is skipped when the event cannot change
 * it: the partition was already counted (not idle) and was not the one holding the minimum.
 */
export function acceptOnPartition(partition: i32, t: f64, nowS: f64): void {
  const e = partitionEntry(partition);
  const wasSeen = load<i32>(e, 16) != 0;
  const oldMax = load<f64>(e);
  const wasActive = nowS - load<f64>(e, 8) < idleTimeoutS;
  const newMax = wasSeen ? Math.max(oldMax, t) : t;
  store<f64>(e, newMax);
  store<f64>(e, nowS, 8);
  store<i32>(e, 1, 16);
  if (candidateNowS != nowS) {
    recomputeCandidate(nowS);
  } else if (!wasActive) {
    // The partition joins the non-idle set: the min can only go down.
    const wm = newMax - graceS;
    if (wm < candidate) candidate = wm;
  } else {
    const oldWm = wasSeen ? oldMax - graceS : -Infinity;
    if (newMax != oldMax || !wasSeen) {
      if (oldWm <= candidate) recomputeCandidate(nowS);
    }
  }
  raiseWatermarkToCandidate();
}
