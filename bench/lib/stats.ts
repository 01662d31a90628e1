/** Summary statistics of repeated measurements (pure helpers; tested in test/bench/stats.test.ts). */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Number of samples. */
  n: number;
  /** Every sample, in the order measured. */
  values: number[];
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median, min and max of a non-empty list of finite numbers. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize: no samples');
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`summarize: non-finite sample ${v}`);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length, values: [...values] };
}

/**
 * Nearest-rank percentile (p in (0, 100]) of a non-empty list: the smallest value with at least p % of
 * the samples at or below it.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100] (got ${p})`);
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

/** Number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Rate in events/s with an SI suffix: 1.23 M, 456 k. */
export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/** "median (min–max)" with a formatter. */
export function fmtSummary(s: Summary, f: (n: number) => string = fmtRate): string {
  return s.n === 1 ? `${f(s.median)} (1 run)` : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
