// One pane = the traffic of one point in one advance-long slice of event time (PANE_BYTES = 256,
// four 64-byte lines). Lines 0-2 are hot: an event updates one of each (and emission reads these
// three); line 3 is cold: the high bytes of the 8-bit counters, used only once the pane holds more
// than 255 events (then any 8-bit counter may wrap; the line is zeroed when the count reaches 256).
// Which relative pane a slot holds is not stored here but in the point's entry (points.ts), so that
// emission skips empty slots without touching them. With 16-bit counters (96 bytes of histogram)
// the hot fields took four lines; split into low and high bytes they take three, so emission reads
// and a new pane clears three lines instead of four (an event touched three lines either way).
//
//   line 0  0   f64 sumSpeedDev      8   f64 sumSpeedDevSq   speed deviations d = speed - SPEED_SHIFT_KMH:
//                                                             sums of d and d^2 (little cancellation)
//           16  f64 sumGapM          24  f64 minGapM (+Infinity when empty)
//           32  f64 sumGapS          40  f64 minGapS (+Infinity when empty)
//           48  f64 sumLength        56  f64 occupiedSeconds (sum of tOut1 - tIn1)
//   line 1  64  f64 laneSpeedSum[8]  lane l (1-based) at 64 + 8*(l-1)
//   line 2  128 u16 count            accepted events (exact up to PANE_COUNTER_MAX)
//           130 u8  headwayLt1sLo    events with gapS < 1
//           131 u8  headwayLt2sLo    events with gapS < 2
//           132 u8  longVehiclesLo   events with length > LONG_VEHICLE_M
//           133 u8  overLimitLo      events faster than the point's allowed speed when they arrived
//           134 u16 (padding)
//           136 u8  laneCountLo[8]   lane l at 136 + (l-1)
//           144 u8  histLo[48]       speed bin b = min(floor(speed / SPEED_BIN_KMH), 47) at 144 + b
//   line 3  192 + x: the high byte of the 8-bit counter at 128 + x (line 2 shifted by PANE_HI = 64):
//           194 headwayLt1sHi .. 197 overLimitHi, 200 laneCountHi[8], 208 histHi[48]; 192..193 and
//           198..199 unused
// An 8-bit counter's value is lo + 256 * hi, hi read only when count > 255 (below, no lo can wrap).
//
// Ring slot s of point p lives at panesPtr + s * slotStride + p * PANE_BYTES (slot-major, layout.ts):
// the panes events hit at one time (one or two slots) are a few contiguous MiB rather than spread
// over every point's whole ring, which keeps their pages in the TLB. Pane q lives in slot
// (q - ringOrigin) mod ringPanes.

import { LONG_VEHICLE_M, SPEED_BIN_KMH, SPEED_BINS } from './constants';
import { PANE_BYTES, panesPtr, ringPanes, slotStride } from './layout';
import { ringOrigin } from './watermark';

export const EMPTY_PANE: i32 = i32.MIN_VALUE;
export const PANE_SUM_SPEED_DEV = 0;
export const PANE_SUM_SPEED_DEV_SQ = 8;
export const PANE_SUM_GAP_M = 16;
export const PANE_MIN_GAP_M = 24;
export const PANE_SUM_GAP_S = 32;
export const PANE_MIN_GAP_S = 40;
export const PANE_SUM_LENGTH = 48;
export const PANE_OCCUPIED = 56;
export const PANE_LANE_SPEED = 64;
export const PANE_COUNT = 128;
export const PANE_HW1 = 130;
export const PANE_HW2 = 131;
export const PANE_LONG = 132;
export const PANE_OVER = 133;
export const PANE_LANE_COUNT = 136;
export const PANE_HIST = 144;
/** Bytes cleared when a slot takes a new pane (lines 0-2; line 3 only when count reaches 256). */
export const PANE_HOT_BYTES = 192;
/** Offset of a counter's high byte from its low byte (line 3 mirrors line 2). */
export const PANE_HI = 64;
/** Up to this count no 8-bit counter can exceed 255: line 3 is unused. */
export const PANE_LO_MAX = 255;

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
 * Ring slot of relative pane `q`. Valid for q in [firstNeededRel, firstNeededRel + ringPanes): then
 * 0 <= q - ringOrigin < 2 * ringPanes, so one compare replaces an integer division on the hot path.
 */
// @ts-ignore: decorator
@inline export function slotOf(q: i32): i32 {
  let d = q - ringOrigin;
  if (d >= ringPanes) d -= ringPanes;
  return d;
}

/** Address of ring slot `slot` of `point`. */
// @ts-ignore: decorator
@inline export function paneAt(point: i32, slot: i32): usize {
  return panesPtr + <usize>slot * slotStride + <usize>point * <usize>PANE_BYTES;
}

// @ts-ignore: decorator
@inline function resetPane(pane: usize): void {
  // Twelve vector stores: V8 turns memory.fill into a call, which costs more than the clearing.
  const zero = i64x2.splat(0);
  for (let at: usize = 0; at < <usize>PANE_HOT_BYTES; at += 16) v128.store(pane + at, zero);
  store<f64>(pane, Infinity, PANE_MIN_GAP_M);
  store<f64>(pane, Infinity, PANE_MIN_GAP_S);
}

/** Adds 1 to the 8-bit counter at `at` (lo byte; hi byte PANE_HI further) with carry. */
// @ts-ignore: decorator
@inline function addWide(at: usize, one: u32): void {
  const lo = <u32>load<u8>(at) + one;
  store<u8>(at, <u8>lo);
  if (lo > 255) store<u8>(at, load<u8>(at, PANE_HI) + 1, PANE_HI);
}

/** The counters of a pane that already holds PANE_LO_MAX or more events (rare: not inlined). */
function addCountersWide(pane: usize, count: i32, gapS: f64, length: f64, speed: f64, allowedSpeed: f64, laneIndex: usize, bin: usize): void {
  if (count == PANE_LO_MAX) {
    const zero = i64x2.splat(0);
    for (let at: usize = PANE_HOT_BYTES; at < <usize>PANE_BYTES; at += 16) v128.store(pane + at, zero);
  }
  addWide(pane + PANE_HW1, <u32>(gapS < 1));
  addWide(pane + PANE_HW2, <u32>(gapS < 2));
  addWide(pane + PANE_LONG, <u32>(length > LONG_VEHICLE_M));
  addWide(pane + PANE_OVER, <u32>(speed > allowedSpeed));
  addWide(pane + PANE_LANE_COUNT + laneIndex, 1);
  addWide(pane + PANE_HIST + bin, 1);
}

/**
 * Adds one validated event to `pane`, the slot whose holder is recorded at `holder` (the point's
 * entry), for relative pane `q`; the caller checked PANE_FULL.
 */
// @ts-ignore: decorator
@inline export function addToPane(
  pane: usize,
  holder: usize,
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
  if (load<i32>(holder) != q) {
    resetPane(pane);
    store<i32>(holder, q);
  }
  const count = <i32>load<u16>(pane, PANE_COUNT);
  store<u16>(pane, count + 1, PANE_COUNT);
  const laneIndex = <usize>(lane - 1);
  let bin = exactToI32(Math.floor(speed * (1.0 / SPEED_BIN_KMH))); // width 4 = 2^2: the product is exact
  if (bin > SPEED_BINS - 1) bin = SPEED_BINS - 1;
  if (count < PANE_LO_MAX) {
    // At most 255 events after this one: every 8-bit counter fits its low byte.
    store<u8>(pane, load<u8>(pane, PANE_HW1) + <u8>(gapS < 1), PANE_HW1);
    store<u8>(pane, load<u8>(pane, PANE_HW2) + <u8>(gapS < 2), PANE_HW2);
    store<u8>(pane, load<u8>(pane, PANE_LONG) + <u8>(length > LONG_VEHICLE_M), PANE_LONG);
    // speed > NaN is false: a point without limit never counts over-limit vehicles.
    store<u8>(pane, load<u8>(pane, PANE_OVER) + <u8>(speed > allowedSpeed), PANE_OVER);
    const laneCount = pane + PANE_LANE_COUNT + laneIndex;
    store<u8>(laneCount, load<u8>(laneCount) + 1);
    const histBin = pane + PANE_HIST + <usize>bin;
    store<u8>(histBin, load<u8>(histBin) + 1);
  } else {
    addCountersWide(pane, count, gapS, length, speed, allowedSpeed, laneIndex, <usize>bin);
  }
  const dev = speed - speedShift;
  store<f64>(pane, load<f64>(pane, PANE_SUM_SPEED_DEV) + dev, PANE_SUM_SPEED_DEV);
  store<f64>(pane, load<f64>(pane, PANE_SUM_SPEED_DEV_SQ) + dev * dev, PANE_SUM_SPEED_DEV_SQ);
  store<f64>(pane, load<f64>(pane, PANE_SUM_GAP_M) + gapM, PANE_SUM_GAP_M);
  store<f64>(pane, Math.min(load<f64>(pane, PANE_MIN_GAP_M), gapM), PANE_MIN_GAP_M);
  store<f64>(pane, load<f64>(pane, PANE_SUM_GAP_S) + gapS, PANE_SUM_GAP_S);
  store<f64>(pane, Math.min(load<f64>(pane, PANE_MIN_GAP_S), gapS), PANE_MIN_GAP_S);
  store<f64>(pane, load<f64>(pane, PANE_SUM_LENGTH) + length, PANE_SUM_LENGTH);
  store<f64>(pane, load<f64>(pane, PANE_OCCUPIED) + (tOut1 - tIn1), PANE_OCCUPIED);
  const laneSpeed = pane + PANE_LANE_SPEED + (laneIndex << 3);
  store<f64>(laneSpeed, load<f64>(laneSpeed) + speed);
}
