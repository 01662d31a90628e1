import { describe, expect, it } from 'vitest';
import { mulberry32, normal } from '../../../src/generate/prng.js';
import { fitLogistic, logisticGradient, sigmoid, softplus } from '../../../src/model/train/logistic.js';

/** The project's seeded PRNG and a standard normal from it. */
function rng(seed: number) {
  const u = mulberry32(seed);
  return { u, normal: () => normal(u) };
}

/** n rows of `beta.length` standard-normal columns, labels drawn from the logistic model. */
function synthetic(n: number, intercept: number, beta: number[], seed: number) {
  const r = rng(seed);
  const c = beta.length;
  const x = new Float64Array(n * c);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let z = intercept;
    for (let j = 0; j < c; j++) {
      x[i * c + j] = r.normal();
      z += beta[j] * x[i * c + j];
    }
    y[i] = r.u() < sigmoid(z) ? 1 : 0;
  }
  return { x, y, c };
}

describe('fitLogistic', () => {
  it('recovers known coefficients from data drawn from the model', () => {
    const { x, y, c } = synthetic(40_000, -1, [1.5, -0.8, 0], 1);
    const fit = fitLogistic(x, y, 40_000, c, { l2: 0 });
    expect(fit.converged).toBe(true);
    expect(fit.intercept).toBeCloseTo(-1, 1);
    expect(fit.coefficients[0]).toBeCloseTo(1.5, 1);
    expect(fit.coefficients[1]).toBeCloseTo(-0.8, 1);
    expect(Math.abs(fit.coefficients[2])).toBeLessThan(0.05);
  });

  it('stops at the optimum: the gradient of the penalised objective is zero there', () => {
    const { x, y, c } = synthetic(5_000, -2, [0.7, 0.3, -1.1, 0.05], 2);
    for (const l2 of [0, 1, 50]) {
      const fit = fitLogistic(x, y, 5_000, c, { l2 });
      const g = logisticGradient(x, y, 5_000, c, l2, fit.intercept, fit.coefficients);
      for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-6);
    }
  });

  it('shrinks coefficients towards zero as the penalty grows, never the intercept to zero', () => {
    const { x, y, c } = synthetic(3_000, -1.5, [1, -1], 3);
    const norms = [0, 10, 100, 1e4].map((l2) => {
      const f = fitLogistic(x, y, 3_000, c, { l2 });
      return { norm: Math.hypot(...f.coefficients), intercept: f.intercept };
    });
    for (let k = 1; k < norms.length; k++) expect(norms[k].norm).toBeLessThan(norms[k - 1].norm);
    // With every coefficient crushed, the intercept is the base rate's log-odds.
    let pos = 0;
    for (const v of y) pos += v;
    const rate = pos / y.length;
    expect(norms[3].intercept).toBeCloseTo(Math.log(rate / (1 - rate)), 1);
  });

  it('handles separable data with a penalty (finite coefficients) and refuses non-finite input', () => {
    const x = Float64Array.from([-2, -1, 1, 2]);
    const y = Uint8Array.from([0, 0, 1, 1]);
    const fit = fitLogistic(x, y, 4, 1, { l2: 0.1 });
    expect(Number.isFinite(fit.coefficients[0])).toBe(true);
    expect(fit.coefficients[0]).toBeGreaterThan(1);
    expect(() => fitLogistic(Float64Array.from([1, NaN]), y, 2, 1, { l2: 1 })).toThrow(/must be finite/);
    expect(() => fitLogistic(x, y, 4, 1, { l2: -1 })).toThrow(/l2/);
  });

  it('nonNegative: the bound-constrained optimum (gradient zero where the coefficient is positive, >= 0 where it is held at 0)', () => {
    const { x, y, c } = synthetic(8_000, -1, [1.2, -0.9, 0.4, -0.2], 4);
    for (const l2 of [0, 5]) {
      const fit = fitLogistic(x, y, 8_000, c, { l2, nonNegative: true });
      expect(fit.converged).toBe(true);
      const g = logisticGradient(x, y, 8_000, c, l2, fit.intercept, fit.coefficients);
      expect(Math.abs(g[0])).toBeLessThan(1e-6);
      for (let j = 0; j < c; j++) {
        expect(fit.coefficients[j]).toBeGreaterThanOrEqual(0);
        if (fit.coefficients[j] > 0) expect(Math.abs(g[j + 1])).toBeLessThan(1e-6);
        else expect(g[j + 1]).toBeGreaterThan(-1e-6);
      }
      // The truly negative effects are held at 0, the positive ones kept.
      expect(fit.coefficients[1]).toBe(0);
      expect(fit.coefficients[0]).toBeGreaterThan(0.8);
    }
    // Where the free optimum is already non-negative, the constrained one is the same.
    const pos = synthetic(5_000, -1, [0.8, 0.5], 5);
    const free = fitLogistic(pos.x, pos.y, 5_000, pos.c, { l2: 1 });
    const bound = fitLogistic(pos.x, pos.y, 5_000, pos.c, { l2: 1, nonNegative: true });
    expect([...bound.coefficients]).toEqual([...free.coefficients]);
  });

  it('softplus and sigmoid do not overflow', () => {
    expect(softplus(800)).toBe(800);
    expect(softplus(-800)).toBe(0);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(800)).toBe(1);
    expect(softplus(0)).toBeCloseTo(Math.LN2, 12);
  });
});
