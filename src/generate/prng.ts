/**
 * A small seeded PRNG (mulberry32) and the few distributions the generator needs. Deterministic
 * across platforms: only 32-bit integer arithmetic and IEEE doubles, no Math.random.
 */
export type Rng = () => number;

/** mulberry32: uniform doubles in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for an independent stream `stream` of `seed` (a splitmix32-style mix). */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul((stream + 1) >>> 0, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** 32-bit FNV-1a of a string: stable per-name streams (e.g. lanes of a point read from a CSV). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Exponential with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng());
}

/** Standard normal (Box–Muller, one value per call: simple and deterministic). */
export function normal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Rounds to `decimals` places (decimal output for readable, stable JSON). Never -0: JSON writes it as
 * 0, so a value would not survive a round trip through Kafka unchanged.
 */
export function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f || 0;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * A uniform double in [0, 1) that is a pure function of (seed, stream, index): for quantities that
 * must be the same whichever time range is generated (weather, incidents), so that two runs over
 * overlapping or adjacent ranges (a backfill, then real time) agree on them.
 */
export function hash01(seed: number, stream: number, index: number): number {
  // Index split in two 32-bit halves: minute or cell numbers of epoch times exceed 2^32 only far in the future, but be exact.
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  return deriveSeed(deriveSeed(deriveSeed(seed, stream), hi), lo) / 4294967296;
}

/**
 * Smooth value noise in [0, 1): hash01 values on a lattice every `periodS` seconds of epoch time,
 * blended with a smoothstep, so it is continuous in t and independent of where generation starts.
 */
export function valueNoise(seed: number, stream: number, t: number, periodS: number): number {
  const x = t / periodS;
  const k = Math.floor(x);
  const f = x - k;
  const s = f * f * (3 - 2 * f);
  return hash01(seed, stream, k) * (1 - s) + hash01(seed, stream, k + 1) * s;
}
