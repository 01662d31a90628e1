import { describe, expect, it } from 'vitest';
import { parseArgs, SUITES } from '../../bench/lib/args.js';
import { fmtRate, fmtSummary, median, percentile, summarize } from '../../bench/lib/stats.js';

describe('bench stats helpers', () => {
  it('median of odd and even counts, unsorted input', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('summarize keeps median, min, max and the samples', () => {
    const s = summarize([3, 9, 1, 7, 5]);
    expect(s).toEqual({ median: 5, min: 1, max: 9, n: 5, values: [3, 9, 1, 7, 5] });
    expect(() => summarize([1, NaN])).toThrow(RangeError);
  });

  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('formats rates and summaries', () => {
    expect(fmtRate(2_345_678)).toBe('2.35 M');
    expect(fmtRate(45_600)).toBe('45.6 k');
    expect(fmtSummary(summarize([1e6, 2e6, 3e6]))).toBe('2.00 M (1.00 M–3.00 M)');
    expect(fmtSummary(summarize([5e5]))).toBe('500.0 k (1 run)');
  });
});

describe('bench arguments', () => {
  it('defaults to every suite', () => {
    expect(parseArgs([])).toMatchObject({ quick: false, suites: [...SUITES] });
  });

  it('reads --quick, --suites, --events, --runs (also --flag=value)', () => {
    expect(parseArgs(['--quick', '--suites', 'e2e,kernel', '--events=5000', '--runs', '3'])).toMatchObject({
      quick: true,
      suites: ['kernel', 'e2e'],
      events: 5000,
      runs: 3,
    });
  });

  it('refuses unknown suites and options, and non-positive counts', () => {
    expect(() => parseArgs(['--suites', 'kernel,nope'])).toThrow(/--suites/);
    expect(() => parseArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});
