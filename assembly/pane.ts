// One pane = the traffic of one point in one advance-long slice of event time (PANE_BYTES = 256):
//   0   i32 paneIndex        relative pane index (watermark.ts), EMPTY_PANE when never used
//   4   u16 count            accepted events
//   6   u16 headwayLt1s      events with gapS < 1
//   8   u16 headwayLt2s      events with gapS < 2
//   10  u16 longVehicles     events with length > LONG_VEHICLE_M
//   12  u16 overLimit        events faster than the point's allowed speed at the time they arrived
//   14  u16 (padding)
//   16  f64 sumSpeedDev      24 f64 sumSpeedDevSq   speed deviations d = speed - the point's speed
//                            shift (points.ts): sums of d and d^2, so no division and little cancellation
//   32  f64 sumGapM          40 f64 minGapM (+Infinity when empty)
//   48  f64 sumGapS          56 f64 minGapS (+Infinity when empty)
//   64  f64 sumLength        72 f64 occupiedSeconds (sum of tOut1 - tIn1)
//   80  u16 laneCount[8]     lane l (1-based) at 80 + 2*(l-1)
//   96  f64 laneSpeedSum[8]  lane l at 96 + 8*(l-1)
//   160 u16 hist[48]         speed bin b = min(floor(speed / SPEED_BIN_KMH), 47) at 160 + 2*b
// A ring holds ringPanes panes per point; pane q lives in slot (q - ringOrigin) mod ringPanes, and a
// slot whose stored index is not the one expected is empty for that pane.

import { LONG_VEHICLE_M, SPEED_BIN_KMH, SPEED_BINS } from './constants';
import { PANE_BYTES, ringPanes } from './layout';
import { ringOrigin } from './watermark';

export const EMPTY_PANE: i32 = i32.MIN_VALUE;
export const PANE_COUNT = 4;
export const PANE_HW1 = 6;
export const PANE_HW2 = 8;
export const PANE_LONG = 10;
export const PANE_OVER = 12;
export const PANE_SUM_SPEED_DEV = 16;
export const PANE_SUM_SPEED_DEV_SQ = 24;
export const PANE_SUM_GAP_M = 32;
export const PANE_MIN_GAP_M = 40;
export const PANE_SUM_GAP_S = 48;
export const PANE_MIN_GAP_S = 56;
export const PANE_SUM_LENGTH = 64;
export const PANE_OCCUPIED = 72;
export const PANE_LANE_COUNT = 80;
export const PANE_LANE_SPEED = 96;
export const PANE_HIST = 160;

/**
 * `x` as i32 for an integer-valued x with |x| < 2^31: adding 1.5 * 2^52 puts it in the low bits of
 * the mantissa. V8 compiles a float-to-int conversion into a convert, a round-trip check and a
 * branch (it must saturate); this is an add and a move, and the hot path converts twice per event.
 */
// @ts-ignore: decorator
@inline export function exactToI32(x: f64): i32 {
  return <i32>reinterpret<i64>(x + 6755399441055744.0);
}

/**
 * Address of the slot for relative pane `q` in the ring at `ring`. Valid for q in
 * [firstNeededRel, firstNeededRel + ringPanes): then 0 <= q - ringOrigin < 2 * ringPanes, so one
 * compare replaces an integer division on the hot path.
 */
// @ts-ignore: decorator
@inline export function slotOf(ring: usize, q: i32): usize {
  let d = q - ringOrigin;
  if (d >= ringPanes) d -= ringPanes;
  return ring + <usize>d * <usize>PANE_BYTES;
}

/** Marks every slot of `count` rings starting at `firstRing` as empty. */
export function clearRings(firstRing: usize, slots: usize): void {
  for (let i: usize = 0; i < slots; i++) store<i32>(firstRing + i * <usize>PANE_BYTES, EMPTY_PANE);
}

// @ts-ignore: decorator
@inline function resetPane(pane: usize, q: i32): void {
  // Sixteen vector stores: V8 turns memory.fill into a call, which costs more than the clearing.
  const zero = i64x2.splat(0);
  for (let at: usize = 0; at < <usize>PANE_BYTES; at += 16) v128.store(pane + at, zero);
  store<i32>(pane, q);
  store<f64>(pane, Infinity, PANE_MIN_GAP_M);
  store<f64>(pane, Infinity, PANE_MIN_GAP_S);
}

/** Adds one validated event to the pane for relative pane `q` (the caller checked PANE_FULL). */
// @ts-ignore: decorator
@inline export function addToPane(
  pane: usize,
  q: i32,
  tIn1: f64,
  tOut1: f64,
  speed: f64,
  gapM: f64,
  gapS: f64,
  length: f64,
  lane: i32,
  allowedSpeed: f64,
  speedShift: f64,
): void {
  if (load<i32>(pane) != q) resetPane(pane, q);
  store<u16>(pane, load<u16>(pane, PANE_COUNT) + 1, PANE_COUNT);
  store<u16>(pane, load<u16>(pane, PANE_HW1) + <u16>(gapS < 1), PANE_HW1);
  store<u16>(pane, load<u16>(pane, PANE_HW2) + <u16>(gapS < 2), PANE_HW2);
  store<u16>(pane, load<u16>(pane, PANE_LONG) + <u16>(length > LONG_VEHICLE_M), PANE_LONG);
  // speed > NaN is false: a point without limit never counts over-limit vehicles.
  store<u16>(pane, load<u16>(pane, PANE_OVER) + <u16>(speed > allowedSpeed), PANE_OVER);
  const dev = speed - speedShift;
  store<f64>(pane, load<f64>(pane, PANE_SUM_SPEED_DEV) + dev, PANE_SUM_SPEED_DEV);
  store<f64>(pane, load<f64>(pane, PANE_SUM_SPEED_DEV_SQ) + dev * dev, PANE_SUM_SPEED_DEV_SQ);
  store<f64>(pane, load<f64>(pane, PANE_SUM_GAP_M) + gapM, PANE_SUM_GAP_M);
  store<f64>(pane, Math.min(load<f64>(pane, PANE_MIN_GAP_M), gapM), PANE_MIN_GAP_M);
  store<f64>(pane, load<f64>(pane, PANE_SUM_GAP_S) + gapS, PANE_SUM_GAP_S);
  store<f64>(pane, Math.min(load<f64>(pane, PANE_MIN_GAP_S), gapS), PANE_MIN_GAP_S);
  store<f64>(pane, load<f64>(pane, PANE_SUM_LENGTH) + length, PANE_SUM_LENGTH);
  store<f64>(pane, load<f64>(pane, PANE_OCCUPIED) + (tOut1 - tIn1), PANE_OCCUPIED);
  const laneIndex = <usize>(lane - 1);
  const laneCount = pane + PANE_LANE_COUNT + (laneIndex << 1);
  store<u16>(laneCount, load<u16>(laneCount) + 1);
  const laneSpeed = pane + PANE_LANE_SPEED + (laneIndex << 3);
  store<f64>(laneSpeed, load<f64>(laneSpeed) + speed);
  let bin = exactToI32(Math.floor(speed * (1.0 / SPEED_BIN_KMH))); // width 4 = 2^2: the product is exact
  if (bin > SPEED_BINS - 1) bin = SPEED_BINS - 1;
  const histBin = pane + PANE_HIST + (<usize>bin << 1);
  store<u16>(histBin, load<u16>(histBin) + 1);
}
