import { describe, expect, it } from 'vitest';
import { deriveSeed, mulberry32, round } from '../../src/generate/prng.js';

describe('mulberry32', () => {
  it('repeats its sequence for a seed, differs for another, and stays in [0, 1)', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    const c = mulberry32(124);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('derives distinct stream seeds', () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(1, i)));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(2, 0));
  });
});

describe('round', () => {
  it('never returns -0 (JSON would turn it into 0)', () => {
    expect(Object.is(round(-0.04, 1), 0)).toBe(true);
    expect(Object.is(round(-0, 2), 0)).toBe(true);
    expect(round(-0.06, 1)).toBe(-0.1);
    expect(round(1.25, 1)).toBe(1.3);
  });
});
