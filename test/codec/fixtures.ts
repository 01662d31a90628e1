import type { SeedLoopEvent } from '../../src/codec/seed-json.js';

/** One valid seed event of point P0002 (the codec tests' starting point). */
export const SEED: SeedLoopEvent = {
  lane: 2,
  timestamp_in_1: 1700000000.125,
  timestamp_out_1: 1700000000.375,
  timestamp_in_2: 1700000000.9,
  timestamp_out_2: 1700000001.15,
  speed: 87.5,
  gap_meters: 31.25,
  gap_seconds: 1.286,
  length: 4.6,
  point_id: 'P0002',
};
