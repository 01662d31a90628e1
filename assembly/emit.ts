// Emission: when the stream watermark passes a window end T, every registered point gets one row
// [point, T, 17 short stats, 17 long stats] built from its panes (contract.ts WINDOW_STAT_FIELDS).
//
// Stats of one window, f64 each, at byte offset 8 * index (index = position in WINDOW_STAT_FIELDS):
//   0 count  8 flowVph  16 meanSpeedKmh  24 speedStdKmh  32 v85Kmh  40 meanGapM  48 minGapM
//   56 meanGapS  64 minGapS  72 headwayLt1sShare  80 headwayLt2sShare  88 meanLengthM
//   96 longVehicleShare  104 occupancy  112 overLimitShare  120 laneSpeedSpreadKmh  128 lanes
//
// Scratch (SCRATCH_BYTES) holds the per-row aggregate of the array-valued pane fields (the histogram
// is summed in SIMD registers and stored here only for the V85 scan):
//   0   i32 laneCount[8]
//   32  f64 laneSpeedSum[8]
//   96  i32 hist[48]          (ends at 288)

import {
  MAX_LANES,
  ROW_BYTES,
  ROW_LONG,
  ROW_SHORT,
  SPEED_BIN_KMH,
  SPEED_BINS,
  SPEED_SHIFT_KMH,
  STAT_FIELDS,
  STAT_LANES,
} from './constants';
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
  PANE_HI,
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
  PANE_LO_MAX,
  paneAt,
  slotOf,
} from './pane';
import { pointEntry, registeredCount, slotHolder } from './points';
import { advanceNextEnd, nextEndRel, nextEndS, started, watermark } from './watermark';

const AGG_LANE_COUNT: usize = 0;
const AGG_LANE_SPEED: usize = 32;
const AGG_HIST: usize = 96;

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
    aggregateWindows(point, entry, endRel, row, load<f64>(entry), SPEED_SHIFT_KMH);
    row += <usize>ROW_BYTES;
    rows++;
  }
  rowCount += rows;
  store<f64>(finalEndsPtr + (<usize>finalEndCount << 3), endS);
  finalEndCount++;
}

/**
 * Walks the panes of the long window from the newest back; after shortPanes of them the aggregate
 * is exactly the short window, so both windows come out of one pass. Empty slots are skipped on the
 * point entry's slot holders alone. Array fields are summed with SIMD (the pane's 8-bit counters
 * widened to i32, plus 256 × their high bytes in a pane of more than 255 events): this loop runs
 * once per emitted row.
 */
function aggregateWindows(point: i32, entry: usize, endRel: i32, row: usize, allowedSpeed: f64, speedShift: f64): void {
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
  // The 48 histogram bins as twelve i32x4 accumulators held in registers across the panes.
  let h0 = i32x4.splat(0), h1 = h0, h2 = h0, h3 = h0, h4 = h0, h5 = h0;
  let h6 = h0, h7 = h0, h8 = h0, h9 = h0, h10 = h0, h11 = h0;
  for (let k = 0; k < longPanes; k++) {
    const q = endRel - 1 - k;
    const slot = slotOf(q);
    if (load<i32>(slotHolder(entry, slot)) == q) {
      const pane = paneAt(point, slot);
      if (count == 0) {
        // First pane with traffic: clear the lane sums (vector stores; memory.fill is a call in V8).
        const zero = i64x2.splat(0);
        for (let at: usize = 0; at < AGG_HIST; at += 16) v128.store(agg + at, zero);
      }
      const paneCount = <i32>load<u16>(pane, PANE_COUNT);
      count += paneCount;
      sumSpeedDev += load<f64>(pane, PANE_SUM_SPEED_DEV);
      sumSpeedDevSq += load<f64>(pane, PANE_SUM_SPEED_DEV_SQ);
      sumGapM += load<f64>(pane, PANE_SUM_GAP_M);
      minGapM = Math.min(minGapM, load<f64>(pane, PANE_MIN_GAP_M));
      sumGapS += load<f64>(pane, PANE_SUM_GAP_S);
      minGapS = Math.min(minGapS, load<f64>(pane, PANE_MIN_GAP_S));
      sumLength += load<f64>(pane, PANE_SUM_LENGTH);
      occupied += load<f64>(pane, PANE_OCCUPIED);
      // Lane speed sums: 8 f64 as four f64x2.
      v128.store(agg, f64x2.add(v128.load(agg, AGG_LANE_SPEED), v128.load(pane, PANE_LANE_SPEED)), AGG_LANE_SPEED);
      v128.store(agg, f64x2.add(v128.load(agg, AGG_LANE_SPEED + 16), v128.load(pane, PANE_LANE_SPEED + 16)), AGG_LANE_SPEED + 16);
      v128.store(agg, f64x2.add(v128.load(agg, AGG_LANE_SPEED + 32), v128.load(pane, PANE_LANE_SPEED + 32)), AGG_LANE_SPEED + 32);
      v128.store(agg, f64x2.add(v128.load(agg, AGG_LANE_SPEED + 48), v128.load(pane, PANE_LANE_SPEED + 48)), AGG_LANE_SPEED + 48);
      // The 8-bit counters: low bytes always, high bytes (line 3) only in a pane of more than 255
      // events (below that they are not even initialised).
      let hi: usize = 0;
      do {
        const shift = <i32>(hi >> 3); // 0 for the low bytes, 8 for the high bytes (hi = PANE_HI = 64)
        const c = pane + hi;
        hw1 += <i32>load<u8>(c, PANE_HW1) << shift;
        hw2 += <i32>load<u8>(c, PANE_HW2) << shift;
        longVehicles += <i32>load<u8>(c, PANE_LONG) << shift;
        overLimit += <i32>load<u8>(c, PANE_OVER) << shift;
        // Lanes: 8 u8 counts widened into two i32x4.
        const laneCounts = v128.load8x8_u(c, PANE_LANE_COUNT);
        v128.store(agg, i32x4.add(v128.load(agg, AGG_LANE_COUNT), i32x4.shl(i32x4.extend_low_i16x8_u(laneCounts), shift)), AGG_LANE_COUNT);
        v128.store(agg, i32x4.add(v128.load(agg, AGG_LANE_COUNT + 16), i32x4.shl(i32x4.extend_high_i16x8_u(laneCounts), shift)), AGG_LANE_COUNT + 16);
        // Histogram: 48 u8 bins as 6 × 8 widened to i16x8, then to i32x4 (shl 0 costs nothing).
        const b0 = v128.load8x8_u(c, PANE_HIST);
        const b1 = v128.load8x8_u(c, PANE_HIST + 8);
        const b2 = v128.load8x8_u(c, PANE_HIST + 16);
        const b3 = v128.load8x8_u(c, PANE_HIST + 24);
        const b4 = v128.load8x8_u(c, PANE_HIST + 32);
        const b5 = v128.load8x8_u(c, PANE_HIST + 40);
        h0 = i32x4.add(h0, i32x4.shl(i32x4.extend_low_i16x8_u(b0), shift));
        h1 = i32x4.add(h1, i32x4.shl(i32x4.extend_high_i16x8_u(b0), shift));
        h2 = i32x4.add(h2, i32x4.shl(i32x4.extend_low_i16x8_u(b1), shift));
        h3 = i32x4.add(h3, i32x4.shl(i32x4.extend_high_i16x8_u(b1), shift));
        h4 = i32x4.add(h4, i32x4.shl(i32x4.extend_low_i16x8_u(b2), shift));
        h5 = i32x4.add(h5, i32x4.shl(i32x4.extend_high_i16x8_u(b2), shift));
        h6 = i32x4.add(h6, i32x4.shl(i32x4.extend_low_i16x8_u(b3), shift));
        h7 = i32x4.add(h7, i32x4.shl(i32x4.extend_high_i16x8_u(b3), shift));
        h8 = i32x4.add(h8, i32x4.shl(i32x4.extend_low_i16x8_u(b4), shift));
        h9 = i32x4.add(h9, i32x4.shl(i32x4.extend_high_i16x8_u(b4), shift));
        h10 = i32x4.add(h10, i32x4.shl(i32x4.extend_low_i16x8_u(b5), shift));
        h11 = i32x4.add(h11, i32x4.shl(i32x4.extend_high_i16x8_u(b5), shift));
        hi = hi == 0 && paneCount > PANE_LO_MAX ? <usize>PANE_HI : 0;
      } while (hi != 0);
    }
    if (k == shortPanes - 1 || k == longPanes - 1) {
      if (count != 0) {
        const hist = agg + AGG_HIST;
        v128.store(hist, h0);
        v128.store(hist, h1, 16);
        v128.store(hist, h2, 32);
        v128.store(hist, h3, 48);
        v128.store(hist, h4, 64);
        v128.store(hist, h5, 80);
        v128.store(hist, h6, 96);
        v128.store(hist, h7, 112);
        v128.store(hist, h8, 128);
        v128.store(hist, h9, 144);
        v128.store(hist, h10, 160);
        v128.store(hist, h11, 176);
      }
      // After shortPanes panes the aggregate is exactly the short window, after longPanes the long.
      const field = k == shortPanes - 1 ? ROW_SHORT : ROW_LONG;
      writeStats(row + (<usize>field << 3), k == shortPanes - 1 ? shortS : longS, allowedSpeed, count, hw1, hw2,
        longVehicles, overLimit, speedShift, sumSpeedDev, sumSpeedDevSq, sumGapM, minGapM, sumGapS, minGapS,
        sumLength, occupied);
      if (k == shortPanes - 1 && shortPanes == longPanes) {
        writeStats(row + (<usize>ROW_LONG << 3), longS, allowedSpeed, count, hw1, hw2, longVehicles, overLimit,
          speedShift, sumSpeedDev, sumSpeedDevSq, sumGapM, minGapM, sumGapS, minGapS, sumLength, occupied);
      }
    }
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
    store<f64>(dst + (<usize>STAT_LANES << 3), 0); // no traffic: zero lanes, not an unknown number
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
  store<f64>(dst + (<usize>STAT_LANES << 3), <f64>lanes);
}

/** V85 by linear interpolation inside the histogram bin that holds rank 0.85 * count. */
function v85(hist: usize, n: f64): f64 {
  const rank = 0.85 * n;
  let cumBefore: f64 = 0;
  let b = 0;
  // Skip four bins at a time while the rank lies beyond them (counts are integers: sums are exact).
  while (b + 4 <= SPEED_BINS) {
    const at = hist + (<usize>b << 2);
    const four = <f64>(load<i32>(at) + load<i32>(at, 4) + load<i32>(at, 8) + load<i32>(at, 12));
    if (rank <= cumBefore + four) break;
    cumBefore += four;
    b += 4;
  }
  for (; b < SPEED_BINS; b++) {
    const inBin = <f64>load<i32>(hist + (<usize>b << 2));
    if (inBin > 0 && rank <= cumBefore + inBin) {
      return <f64>b * SPEED_BIN_KMH + (SPEED_BIN_KMH * (rank - cumBefore)) / inBin;
    }
    cumBefore += inBin;
  }
  return NaN; // unreachable for n > 0: the bins sum to n
}
