/**
 * How well scores rank and predict binary outcomes: ROC AUC, PR AUC (average precision), Brier
 * score, log loss and a calibration table. Ties are handled exactly (a tie of a positive and a
 * negative counts a half in the AUC; tied scores form one step of the PR curve), so a constant
 * score has AUC 0.5 and PR AUC = the base rate whatever the row order.
 */

export interface ScoreMetrics {
  rows: number;
  positives: number;
  /** positives ÷ rows. */
  baseRate: number;
  /** NaN when one class is absent. */
  rocAuc: number;
  /** Average precision; NaN without positives. */
  prAuc: number;
  brier: number;
  logLoss: number;
}

/** Row indexes by score, highest first (stable for ties). */
function byScoreDescending(scores: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

export function scoreMetrics(scores: Float64Array, labels: Uint8Array, n = scores.length): ScoreMetrics {
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (!(s >= 0 && s <= 1)) throw new RangeError(`score ${i} is ${s}: scores must be probabilities in [0, 1]`);
  }
  let positives = 0;
  let brier = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const s = scores[i];
    positives += y;
    brier += (s - y) * (s - y);
    const p = Math.min(Math.max(s, 1e-15), 1 - 1e-15);
    logLoss -= y === 1 ? Math.log(p) : Math.log(1 - p);
  }
  const negatives = n - positives;
  const order = byScoreDescending(scores, n);
  // One pass over groups of tied scores, highest first.
  let tp = 0;
  let fp = 0;
  let aucSum = 0;
  let ap = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let groupPos = 0;
    const s = scores[order[start]];
    while (end < n && scores[order[end]] === s) {
      groupPos += labels[order[end]];
      end++;
    }
    const groupNeg = end - start - groupPos;
    // Negatives in this group are outranked by every earlier positive and tie with the group's.
    aucSum += groupNeg * (tp + groupPos / 2);
    tp += groupPos;
    fp += groupNeg;
    if (groupPos > 0) ap += (groupPos / Math.max(positives, 1)) * (tp / (tp + fp));
    start = end;
  }
  return {
    rows: n,
    positives,
    baseRate: n > 0 ? positives / n : NaN,
    rocAuc: positives > 0 && negatives > 0 ? aucSum / (positives * negatives) : NaN,
    prAuc: positives > 0 ? ap : NaN,
    brier: n > 0 ? brier / n : NaN,
    logLoss: n > 0 ? logLoss / n : NaN,
  };
}

export interface CalibrationBin {
  /** Lowest and highest predicted probability in the bin. */
  from: number;
  to: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/**
 * Calibration in `bins` bins of (about) equal row counts by predicted probability: in a calibrated
 * model meanPredicted ≈ observedRate in every bin. Tied scores stay in one bin.
 */
export function calibration(scores: Float64Array, labels: Uint8Array, bins = 10, n = scores.length): CalibrationBin[] {
  const order = byScoreDescending(scores, n).reverse();
  const out: CalibrationBin[] = [];
  let start = 0;
  for (let b = 0; b < bins && start < n; b++) {
    let end = Math.max(start + 1, Math.round(((b + 1) * n) / bins));
    while (end < n && scores[order[end]] === scores[order[end - 1]]) end++;
    if (b === bins - 1) end = n;
    let sum = 0;
    let pos = 0;
    for (let k = start; k < end; k++) {
      sum += scores[order[k]];
      pos += labels[order[k]];
    }
    out.push({ from: scores[order[start]], to: scores[order[end - 1]], rows: end - start, meanPredicted: sum / (end - start), observedRate: pos / (end - start) });
    start = end;
  }
  return out;
}

/** Points of the ROC curve (false positive rate, true positive rate), one per distinct score. */
export function rocCurve(scores: Float64Array, labels: Uint8Array, n = scores.length): { fpr: number[]; tpr: number[] } {
  const order = byScoreDescending(scores, n);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i];
  const negatives = n - positives;
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    if (labels[order[k]] === 1) tp++;
    else fp++;
    if (k === n - 1 || scores[order[k + 1]] !== scores[order[k]]) {
      fpr.push(negatives > 0 ? fp / negatives : 0);
      tpr.push(positives > 0 ? tp / positives : 0);
    }
  }
  return { fpr, tpr };
}

/** Mean, standard deviation (n − 1), min and max of the finite values. */
export function spread(values: readonly number[]): { mean: number; sd: number; min: number; max: number; n: number } {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, sd: NaN, min: NaN, max: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...v), max: Math.max(...v), n };
}
