import { describe, expect, it } from 'vitest';
import { RecordDescriber } from '../../src/cli/describe.js';
import { ROW_POINT, ROW_WINDOW_END } from '../../src/kernel/contract.js';
import type { RiskRecord } from '../../src/join/types.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../src/model/risk-model.js';
import { OUT_ROW_F64 } from '../../src/pipeline/shard-protocol.js';
import { builder, minuteOf, shardRows, T0, table, vehicle } from './rows.js';

/*
 * Records built from kernel rows of hand-made traffic: the published `lanes`, each window's
 * `quality` and `risk.reliable`. Window end T0 + 60: short window [T0, T0 + 60), long [T0 − 540, T0 + 60).
 */

const END = T0 + 60;
const NORMAL = 0;
const OVERLAPPING = 1;
const ONE_LANE_FLOOD = 2;
const TWO_LANE_BUSY = 3;

const events = [
  // 20 vehicles on lanes 1 and 2, 0.3 s each on the loop: occupancy 6 s / (60 s × 2 lanes) = 0.05.
  ...minuteOf(T0, 20, NORMAL, [1, 2]),
  // Three vehicles on lane 1 each reported 30 s on the loop within one minute: 90 s of occupied time
  // in a 60-second window on one lane — they would have to overlap (or the loop is stuck on).
  vehicle(T0 + 20, OVERLAPPING, 1, 30),
  vehicle(T0 + 40, OVERLAPPING, 1, 30),
  vehicle(T0 + 59, OVERLAPPING, 1, 30),
  // 70 vehicles in one minute on one lane: 4,200 veh/h on a lane (a producer resending, or every
  // lane reported as lane 1).
  ...minuteOf(T0, 70, ONE_LANE_FLOOD, [1]),
  // The same 70 vehicles over two lanes: 2,100 veh/h per lane, busy but real.
  ...minuteOf(T0, 70, TWO_LANE_BUSY, [1, 2]),
];

function records(): Map<number, RiskRecord> {
  const points = table(4);
  const out = shardRows(4, events, END);
  const build = builder(points);
  const byPoint = new Map<number, RiskRecord>();
  for (let r = 0; r < out.rowCount; r++) {
    if (out.rows[r * OUT_ROW_F64 + ROW_WINDOW_END] !== END) continue;
    // Through JSON, as a consumer of road-risk sees it.
    byPoint.set(out.rows[r * OUT_ROW_F64 + ROW_POINT], JSON.parse(JSON.stringify(build.build(out.rows, r))) as RiskRecord);
  }
  expect([...byPoint.keys()].sort()).toEqual([0, 1, 2, 3]);
  return byPoint;
}

describe('RiskRecordBuilder: lanes, window quality and risk.reliable', () => {
  const rec = records();

  it('ordinary traffic: lanes published, both windows plausible, the score reliable', () => {
    const r = rec.get(NORMAL)!;
    expect(r.short).toMatchObject({ count: 20, lanes: 2, quality: { plausible: true, flags: [] } });
    expect(r.short.occupancy).toBeCloseTo(0.05, 6); // times near 1.8e9 s: 0.3 s differs from itself by ~1e-7
    expect(r.long).toMatchObject({ count: 20, lanes: 2, quality: { plausible: true, flags: [] } });
    expect(r.risk.reliable).toBe(true);
    expect(r.risk.score).toBeGreaterThan(0);
    expect(r.risk.score).toBeLessThan(1);
  });

  it('overlapping vehicles on one lane (occupancy > 1) flag the short window and make the score unreliable', () => {
    const r = rec.get(OVERLAPPING)!;
    expect(r.short.lanes).toBe(1);
    expect(r.short.occupancy).toBeCloseTo(1.5, 6);
    expect(r.short.quality).toEqual({ plausible: false, flags: ['OCCUPANCY_OVER_1'] });
    // The ten-minute window holds the same 90 s: 0.15, possible.
    expect(r.long.occupancy).toBeCloseTo(0.15, 6);
    expect(r.long.quality).toEqual({ plausible: true, flags: [] });
    expect(r.risk.reliable).toBe(false);
    // The score is kept, but the impossible occupancy counts as 1 at most: it cannot saturate it.
    const coefficient = loadRiskModel(DEFAULT_MODEL_PATH).coefficients.occupancy ?? 0;
    expect(r.risk.contributions.occupancy ?? 0).toBeCloseTo(coefficient * 1, 9);
    expect(r.risk.score).toBeLessThan(1);
  });

  it('flow far above lane capacity on one lane is flagged; the same flow over two lanes is not', () => {
    const flood = rec.get(ONE_LANE_FLOOD)!;
    expect(flood.short).toMatchObject({ count: 70, flow_vph: 4200, lanes: 1 });
    expect(flood.short.quality).toEqual({ plausible: false, flags: ['FLOW_OVER_CAPACITY'] });
    expect(flood.long.quality.plausible).toBe(true); // 420 veh/h over ten minutes
    expect(flood.risk.reliable).toBe(false);

    const busy = rec.get(TWO_LANE_BUSY)!;
    expect(busy.short).toMatchObject({ count: 70, flow_vph: 4200, lanes: 2 });
    expect(busy.short.quality).toEqual({ plausible: true, flags: [] });
    expect(busy.risk.reliable).toBe(true);
  });

  it('publishes lanes and quality after the statistics, reliable next to the score', () => {
    const r = rec.get(NORMAL)!;
    expect(Object.keys(r.short).slice(-3)).toEqual(['lane_speed_spread_kmh', 'lanes', 'quality']);
    expect(Object.keys(r.risk)).toEqual(['score', 'reliable', 'model', 'contributions']);
  });
});

describe('the --print and demo line of a record', () => {
  const rec = records();
  const describer = new RecordDescriber('UTC');
  const describeRecord = (r: RiskRecord) => describer.describe(r);

  it('says why a row is implausible, and nothing extra for a plausible one', () => {
    expect(describeRecord(rec.get(NORMAL)!)).not.toContain('IMPLAUSIBLE');
    expect(describeRecord(rec.get(OVERLAPPING)!)).toMatch(/ IMPLAUSIBLE \(short OCCUPANCY_OVER_1\): score unreliable$/);
    expect(describeRecord(rec.get(ONE_LANE_FLOOD)!)).toMatch(/ IMPLAUSIBLE \(short FLOW_OVER_CAPACITY\): score unreliable$/);
  });
});
