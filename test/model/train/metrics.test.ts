import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/generate/prng.js';
import { calibration, rocCurve, scoreMetrics, spread } from '../../../src/model/train/metrics.js';

const rng = mulberry32;

/** AUC by its definition: P(score of a positive > score of a negative) + ½ P(tie), over all pairs. */
function bruteAuc(s: Float64Array, y: Uint8Array): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      sum += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return sum / pairs;
}

/** Average precision by its definition over distinct thresholds: Σ (R_k − R_{k−1}) P_k. */
function bruteAp(s: Float64Array, y: Uint8Array): number {
  const thresholds = [...new Set(s)].sort((a, b) => b - a);
  const positives = y.reduce((a, b) => a + b, 0);
  let prevRecall = 0;
  let ap = 0;
  for (const t of thresholds) {
    let tp = 0;
    let predicted = 0;
    for (let i = 0; i < s.length; i++) {
      if (s[i] >= t) {
        predicted++;
        tp += y[i];
      }
    }
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / predicted);
    prevRecall = recall;
  }
  return ap;
}

describe('scoreMetrics', () => {
  it('ROC AUC and PR AUC equal their definitions on random scores with many ties', () => {
    const r = rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + Math.floor(r() * 150);
      const s = Float64Array.from({ length: n }, () => Math.round(r() * 10) / 10);
      const y = Uint8Array.from(s, (v) => (r() < 0.2 + 0.5 * v ? 1 : 0));
      const m = scoreMetrics(s, y);
      expect(m.rocAuc).toBeCloseTo(bruteAuc(s, y), 12);
      expect(m.prAuc).toBeCloseTo(bruteAp(s, y), 12);
    }
  });

  it('a constant score ranks nothing: AUC ½, PR AUC the base rate', () => {
    const y = Uint8Array.from([0, 1, 0, 0, 1, 0, 0, 0, 0, 0]);
    const m = scoreMetrics(new Float64Array(10).fill(0.3), y);
    expect(m.rocAuc).toBe(0.5);
    expect(m.prAuc).toBeCloseTo(0.2, 12);
    expect(m.baseRate).toBeCloseTo(0.2, 12);
    expect(m.brier).toBeCloseTo((0.2 * 0.49 + 0.8 * 0.09), 12);
  });

  it('a perfect ranking has AUC 1 and PR AUC 1; the reverse AUC 0; one class: NaN', () => {
    const y = Uint8Array.from([0, 0, 1, 1]);
    expect(scoreMetrics(Float64Array.from([0.1, 0.2, 0.8, 0.9]), y).rocAuc).toBe(1);
    expect(scoreMetrics(Float64Array.from([0.1, 0.2, 0.8, 0.9]), y).prAuc).toBe(1);
    expect(scoreMetrics(Float64Array.from([0.9, 0.8, 0.2, 0.1]), y).rocAuc).toBe(0);
    expect(scoreMetrics(Float64Array.from([0.1, 0.2]), Uint8Array.from([0, 0])).rocAuc).toBeNaN();
    expect(() => scoreMetrics(Float64Array.from([1.5]), Uint8Array.from([1]))).toThrow(/probabilities/);
  });
});

describe('calibration and curves', () => {
  it('bins hold every row once, in ascending predicted order, with the observed rate of their rows', () => {
    const r = rng(3);
    const n = 1_000;
    const s = Float64Array.from({ length: n }, () => r());
    const y = Uint8Array.from(s, (v) => (r() < v ? 1 : 0));
    const bins = calibration(s, y, 10);
    expect(bins).toHaveLength(10);
    expect(bins.reduce((a, b) => a + b.rows, 0)).toBe(n);
    for (let k = 1; k < bins.length; k++) expect(bins[k].from).toBeGreaterThanOrEqual(bins[k - 1].to);
    // Drawn from the scores themselves: calibrated within noise.
    for (const b of bins) expect(Math.abs(b.meanPredicted - b.observedRate)).toBeLessThan(0.2);
    const totalPositives = bins.reduce((a, b) => a + b.observedRate * b.rows, 0);
    expect(totalPositives).toBeCloseTo(y.reduce((a, b) => a + b, 0), 6);
  });

  it('the ROC curve runs from (0,0) to (1,1) and its trapezoid area is the AUC', () => {
    const r = rng(5);
    const s = Float64Array.from({ length: 300 }, () => Math.round(r() * 20) / 20);
    const y = Uint8Array.from(s, (v) => (r() < v ? 1 : 0));
    const { fpr, tpr } = rocCurve(s, y);
    expect([fpr[0], tpr[0]]).toEqual([0, 0]);
    expect(fpr[fpr.length - 1]).toBe(1);
    expect(tpr[tpr.length - 1]).toBe(1);
    let area = 0;
    for (let k = 1; k < fpr.length; k++) area += ((fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1])) / 2;
    expect(area).toBeCloseTo(scoreMetrics(s, y).rocAuc, 12);
  });

  it('spread ignores NaN and gives the sample standard deviation', () => {
    const s = spread([1, 2, 3, NaN]);
    expect(s).toEqual({ mean: 2, sd: 1, min: 1, max: 3, n: 3 });
  });
});
