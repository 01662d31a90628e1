// Event-time bookkeeping: partition watermarks, the stream watermark W and where emission stands.
//
// Partition entry (PARTITION_BYTES = 32 each):
//   0  f64 maxEventTime      largest accepted tOut2 on the partition; -Infinity before its first
//                            accepted event, so its watermark (max - grace) holds W back
//   8  f64 lastSeenWallS     wall clock of its last accepted event; starts at startWallClockS
//   16..32 (padding)
//
// Pane indexes are kept relative to `basePane`, the pane holding W0 = t0 - grace of the first
// accepted event (with an external watermark: the pane holding the first advanceWatermark), so they
// stay small i32 values whatever the epoch or the advance.

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
/** Whether the stream started (emission runs from then on). */
export let started = false;
/** KernelOptions.externalWatermark: only advanceWatermark moves W, and its first call starts. */
export let externalWatermark = false;
/** Absolute pane index of relative pane 0. */
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
    const wm = load<f64>(e) - graceS;
    if (wm < c) c = wm;
  }
  candidate = c;
  candidateNowS = nowS;
}

function raiseWatermarkToCandidate(): void {
  if (candidate != Infinity && candidate > watermark) watermark = candidate;
}

export function setExternalWatermark(external: bool): void {
  externalWatermark = external;
}

/**
 * Raises W from outside (monotone). Before the stream started: ignored when events drive W (the
 * first event alone defines where panes start, W0 = t0 - grace); the start itself with an
 * external watermark.
 */
export function raiseExternalWatermark(w: f64): void {
  if (!started) {
    if (externalWatermark) startStream(w);
  } else if (w > watermark) {
    watermark = w;
  }
}

/** Idle detection without events (tick). */
export function tickWatermark(nowS: f64): void {
  if (externalWatermark) return;
  recomputeCandidate(nowS);
  raiseWatermarkToCandidate();
}

/** Starts emission at W = w0: the first window end is the end of the pane holding w0. */
export function startStream(w0: f64): void {
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
 * it: the partition was already counted (not idle) and did not hold the minimum, or its maximum
 * did not move. The common case then only loads: no store feeds the next event's loads.
 */
export function acceptOnPartition(partition: i32, t: f64, nowS: f64): void {
  if (externalWatermark) return;
  const e = partitionEntry(partition);
  const oldMax = load<f64>(e);
  const lastSeen = load<f64>(e, 8);
  const raised = t > oldMax;
  if (raised) store<f64>(e, t);
  if (lastSeen != nowS) store<f64>(e, nowS, 8);
  if (candidateNowS != nowS) {
    recomputeCandidate(nowS);
  } else if (nowS - lastSeen >= idleTimeoutS) {
    // The partition joins the non-idle set: the min can only go down.
    const wm = Math.max(oldMax, t) - graceS;
    if (wm < candidate) candidate = wm;
  } else if (raised && oldMax - graceS <= candidate) {
    recomputeCandidate(nowS);
  } else {
    return;
  }
  raiseWatermarkToCandidate();
}
