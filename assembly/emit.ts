// Emission: when the stream watermark passes a window end T, every registered point gets one row
// [point, T, 16 short stats, 16 long stats] built from its panes (contract.ts WINDOW_STAT_FIELDS).
//
// Scratch (SCRATCH_BYTES) holds the per-row aggregate of the array-valued pane fields:
//   0   i32 laneCount[8]
//   32  f64 laneSpeedSum[8]
//   96  i32 hist[48]          (ends at 288)

import { MAX_LANES, ROW_BYTES, ROW_LONG, ROW_SHORT, SPEED_BIN_KMH, SPEED_BINS, STAT_FIELDS } from './constants';
import {
  finalEndCapacity,
  finalEndsPtr,
  longPanes,
  longS,
  pointCapacity,
  rowCapacity,
  rowsPtr,
  scratchPtr,
  shortPanes,
  shortS,
} from './layout';
import {
  PANE_COUNT,
  PANE_HIST,
  PANE_HW1,
  PANE_HW2,
  PANE_LANE_COUNT,
  PANE_LANE_SPEED,
  PANE_LONG,
  PANE_MIN_GAP_M,
  PANE_MIN_GAP_S,
  PANE_OCCUPIED,
  PANE_OVER,
  PANE_SUM_GAP_M,
  PANE_SUM_GAP_S,
  PANE_SUM_LENGTH,
  PANE_SUM_SPEED_DEV,
  PANE_SUM_SPEED_DEV_SQ,
  slotOf,
} from './pane';
import { pointEntry, pointRing, registeredCount } from './points';
import { advanceNextEnd, nextEndRel, nextEndS, started, watermark } from './watermark';

const AGG_LANE_COUNT: usize = 0;
const AGG_LANE_SPEED: usize = 32;
const AGG_HIST: usize = 96;
const AGG_BYTES: usize = 288;

export let rowCount: i32 = 0;
export let finalEndCount: i32 = 0;

export function resetEmitOutput(): void {
  rowCount = 0;
  finalEndCount = 0;
}

/**
 * Emits every window end the watermark has passed, as long as the output buffers can take a whole
 * end (all registered points). Returns false when it stopped because they are full.
 */
export function emitFinalEnds(): bool {
  if (!started) return true;
  while (nextEndS <= watermark) {
    if (rowCount + registeredCount > rowCapacity || finalEndCount >= finalEndCapacity) return false;
    emitEnd(nextEndRel, nextEndS);
    advanceNextEnd();
  }
  return true;
}

function emitEnd(endRel: i32, endS: f64): void {
  let row = rowsPtr + <usize>rowCount * <usize>ROW_BYTES;
  let rows = 0;
  for (let point = 0; point < pointCapacity; point++) {
    const entry = pointEntry(point);
    if (load<i32>(entry, 8) == 0) continue;
    store<f64>(row, <f64>point);
    store<f64>(row, endS, 8);
    aggregateWindows(pointRing(point), endRel, row, load<f64>(entry), load<f64>(entry, 16));
    row += <usize>ROW_BYTES;
    rows++;
  }
  rowCount += rows;
  store<f64>(finalEndsPtr + (<usize>finalEndCount << 3), endS);
  finalEndCount++;
}

/**
 * Walks the panes of the long window from the newest back; after shortPanes of them the aggregate
 * is exactly the short window, so both windows come out of one pass.
 */
function aggregateWindows(ring: usize, endRel: i32, row: usize, allowedSpeed: f64, speedShift: f64): void {
  const agg = scratchPtr;
  let count = 0;
  let hw1 = 0;
  let hw2 = 0;
  let longVehicles = 0;
  let overLimit = 0;
  let sumSpeedDev: f64 = 0;
  let sumSpeedDevSq: f64 = 0;
  let sumGapM: f64 = 0;
  let minGapM: f64 = Infinity;
  let sumGapS: f64 = 0;
  let minGapS: f64 = Infinity;
  let sumLength: f64 = 0;
  let occupied: f64 = 0;
  for (let k = 0; k < longPanes; k++) {
    const q = endRel - 1 - k;
    const pane = slotOf(ring, q);
    if (load<i32>(pane) == q) {
      if (count == 0) memory.fill(agg, 0, AGG_BYTES); // first pane with traffic
      count += <i32>load<u16>(pane, PANE_COUNT);
      hw1 += <i32>load<u16>(pane, PANE_HW1);
      hw2 += <i32>load<u16>(pane, PANE_HW2);
      longVehicles += <i32>load<u16>(pane, PANE_LONG);
      overLimit += <i32>load<u16>(pane, PANE_OVER);
      sumSpeedDev += load<f64>(pane, PANE_SUM_SPEED_DEV);
      sumSpeedDevSq += load<f64>(pane, PANE_SUM_SPEED_DEV_SQ);
      sumGapM += load<f64>(pane, PANE_SUM_GAP_M);
      minGapM = Math.min(minGapM, load<f64>(pane, PANE_MIN_GAP_M));
      sumGapS += load<f64>(pane, PANE_SUM_GAP_S);
      minGapS = Math.min(minGapS, load<f64>(pane, PANE_MIN_GAP_S));
      sumLength += load<f64>(pane, PANE_SUM_LENGTH);
      occupied += load<f64>(pane, PANE_OCCUPIED);
      for (let l: usize = 0; l < <usize>MAX_LANES; l++) {
        const c = agg + AGG_LANE_COUNT + (l << 2);
        store<i32>(c, load<i32>(c) + <i32>load<u16>(pane + PANE_LANE_COUNT + (l << 1)));
        const s = agg + AGG_LANE_SPEED + (l << 3);
        store<f64>(s, load<f64>(s) + load<f64>(pane + PANE_LANE_SPEED + (l << 3)));
      }
      addHistogram(agg + AGG_HIST, pane + PANE_HIST);
    }
    if (k == shortPanes - 1) {
      writeStats(row + (<usize>ROW_SHORT << 3), shortS, allowedSpeed, count, hw1, hw2, longVehicles,
        overLimit, speedShift, sumSpeedDev, sumSpeedDevSq, sumGapM, minGapM, sumGapS, minGapS, sumLength, occupied);
    }
  }
  writeStats(row + (<usize>ROW_LONG << 3), longS, allowedSpeed, count, hw1, hw2, longVehicles,
    overLimit, speedShift, sumSpeedDev, sumSpeedDevSq, sumGapM, minGapM, sumGapS, minGapS, sumLength, occupied);
}

// @ts-ignore: decorator
@inline function addHistogram(dst: usize, src: usize): void {
  for (let b: usize = 0; b < <usize>SPEED_BINS; b++) {
    const d = dst + (b << 2);
    store<i32>(d, load<i32>(d) + <i32>load<u16>(src + (b << 1)));
  }
}

function writeStats(
  dst: usize,
  sizeS: f64,
  allowedSpeed: f64,
  count: i32,
  hw1: i32,
  hw2: i32,
  longVehicles: i32,
  overLimit: i32,
  speedShift: f64,
  sumSpeedDev: f64,
  sumSpeedDevSq: f64,
  sumGapM: f64,
  minGapM: f64,
  sumGapS: f64,
  minGapS: f64,
  sumLength: f64,
  occupied: f64,
): void {
  const n = <f64>count;
  store<f64>(dst, n);
  store<f64>(dst, (n * 3600) / sizeS, 8);
  if (count == 0) {
    for (let i: usize = 2; i < <usize>STAT_FIELDS; i++) store<f64>(dst + (i << 3), NaN);
    return;
  }
  const agg = scratchPtr;
  const meanDev = sumSpeedDev / n;
  const mean = speedShift + meanDev;
  const variance = sumSpeedDevSq / n - meanDev * meanDev;
  store<f64>(dst, mean, 16);
  store<f64>(dst, variance > 0 ? Math.sqrt(variance) : 0, 24);
  store<f64>(dst, v85(agg + AGG_HIST, n), 32);
  store<f64>(dst, sumGapM / n, 40);
  store<f64>(dst, minGapM, 48);
  store<f64>(dst, sumGapS / n, 56);
  store<f64>(dst, minGapS, 64);
  store<f64>(dst, <f64>hw1 / n, 72);
  store<f64>(dst, <f64>hw2 / n, 80);
  store<f64>(dst, sumLength / n, 88);
  store<f64>(dst, <f64>longVehicles / n, 96);
  let lanes = 0;
  let fastestLane: f64 = -Infinity;
  let slowestLane: f64 = Infinity;
  for (let l: usize = 0; l < <usize>MAX_LANES; l++) {
    const c = load<i32>(agg + AGG_LANE_COUNT + (l << 2));
    if (c == 0) continue;
    lanes++;
    const laneMean = load<f64>(agg + AGG_LANE_SPEED + (l << 3)) / <f64>c;
    fastestLane = Math.max(fastestLane, laneMean);
    slowestLane = Math.min(slowestLane, laneMean);
  }
  store<f64>(dst, occupied / (sizeS * <f64>lanes), 104);
  store<f64>(dst, isNaN(allowedSpeed) ? NaN : <f64>overLimit / n, 112);
  store<f64>(dst, fastestLane - slowestLane, 120);
}

/** V85 by linear interpolation inside the histogram bin that holds rank 0.85 * count. */
function v85(hist: usize, n: f64): f64 {
  const rank = 0.85 * n;
  let cumBefore: f64 = 0;
  for (let b = 0; b < SPEED_BINS; b++) {
    const inBin = <f64>load<i32>(hist + (<usize>b << 2));
    if (inBin > 0 && rank <= cumBefore + inBin) {
      return <f64>b * SPEED_BIN_KMH + (SPEED_BIN_KMH * (rank - cumBefore)) / inBin;
    }
    cumBefore += inBin;
  }
  return NaN; // unreachable for n > 0: the bins sum to n
}
