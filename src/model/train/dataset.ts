/**
 * Labelled rows for training and backtests: which history rows count, their labels, and the
 * time-blocked folds of cross-validation.
 */
import type { WindowSpec } from '../../kernel/window-spec.js';
import type { HistoryRows } from './history.js';
import { anyIn, type Labels } from './labels.js';

export interface LabelledRows {
  /** Indexes into the HistoryRows of the rows used. */
  index: Uint32Array;
  /** Per used row: 1 when an incident follows within the horizon. */
  label: Uint8Array;
  positives: number;
  /** Rows left out, by why. */
  leftOut: { warmUp: number; unobservedHorizon: number; unreliable: number };
}

export interface LabelOptions {
  horizonS: number;
  /** Keep rows whose windows are implausible (risk.reliable false). Default false: they are left out. */
  keepUnreliable?: boolean;
}

/**
 * The rows to learn from: after the warm-up (the long window full of data: the first longS seconds
 * of history give partial windows the live service never shows after its first minutes), before
 * the end of the data minus the horizon (whether an incident followed is not known for later rows),
 * and plausible (a faulty loop's rows teach nothing about risk).
 */
export function labelRows(h: HistoryRows, labels: Labels, spec: WindowSpec, o: LabelOptions): LabelledRows {
  const warmUpEnd = h.firstEventS + spec.longS;
  const lastObserved = h.lastEventS - o.horizonS;
  const index: number[] = [];
  const label: number[] = [];
  const leftOut = { warmUp: 0, unobservedHorizon: 0, unreliable: 0 };
  let positives = 0;
  for (let r = 0; r < h.count; r++) {
    const end = h.windowEnd[r];
    if (end < warmUpEnd) {
      leftOut.warmUp++;
      continue;
    }
    if (end > lastObserved) {
      leftOut.unobservedHorizon++;
      continue;
    }
    if (!o.keepUnreliable && h.reliable[r] === 0) {
      leftOut.unreliable++;
      continue;
    }
    const y = anyIn(labels.byPoint[h.point[r]], end, end + o.horizonS) ? 1 : 0;
    index.push(r);
    label.push(y);
    positives += y;
  }
  return { index: Uint32Array.from(index), label: Uint8Array.from(label), positives, leftOut };
}

export interface Fold {
  /** Test period [fromS, toS) of window ends. */
  fromS: number;
  toS: number;
  /** Positions in LabelledRows (not HistoryRows indexes). */
  test: Uint32Array;
  train: Uint32Array;
  /** Training rows left out around the test period (the embargo). */
  embargoed: number;
}

/**
 * Time-blocked folds: window ends cut into blocks of `blockS` seconds (an hour, a day), the blocks
 * dealt to `k` folds as contiguous runs, never single rows — neighbouring minutes are correlated,
 * and a random split would test on the training data's neighbours. Training rows closer than
 * `embargoS` to a test period are dropped from that fold's training set: their windows overlap the
 * test rows' windows (long window) and their labels look into the test period (horizon).
 */
export function timeBlockedFolds(h: HistoryRows, rows: LabelledRows, k: number, blockS: number, embargoS: number): Fold[] {
  const n = rows.index.length;
  const blocks = new Set<number>();
  for (let i = 0; i < n; i++) blocks.add(Math.floor(h.windowEnd[rows.index[i]] / blockS));
  const sorted = [...blocks].sort((a, b) => a - b);
  if (sorted.length < k) {
    throw new RangeError(`${k} folds need at least ${k} blocks of ${blockS} s of labelled rows; the data has ${sorted.length}`);
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const first = sorted[Math.floor((f * sorted.length) / k)];
    const last = sorted[Math.floor(((f + 1) * sorted.length) / k) - 1];
    const fromS = first * blockS;
    const toS = (last + 1) * blockS;
    const test: number[] = [];
    const train: number[] = [];
    let embargoed = 0;
    for (let i = 0; i < n; i++) {
      const end = h.windowEnd[rows.index[i]];
      if (end >= fromS && end < toS) test.push(i);
      else if (end > fromS - embargoS && end < toS + embargoS) embargoed++;
      else train.push(i);
    }
    folds.push({ fromS, toS, test: Uint32Array.from(test), train: Uint32Array.from(train), embargoed });
  }
  return folds;
}
