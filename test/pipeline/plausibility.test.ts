import { describe, expect, it } from 'vitest';
import { WINDOW_STAT_FIELDS, type WindowStats } from '../../src/kernel/contract.js';
import {
  MAX_PLAUSIBLE_FLOW_VPH_PER_LANE,
  MAX_PLAUSIBLE_OCCUPANCY,
  PlausibilityFlag,
  windowQuality,
} from '../../src/pipeline/plausibility.js';

/** A one-minute window of 30 vehicles on 2 lanes, occupancy 0.1: ordinary traffic. */
function stats(over: Partial<WindowStats> = {}): WindowStats {
  const s = Object.fromEntries(WINDOW_STAT_FIELDS.map((f) => [f, null])) as WindowStats;
  return { ...s, count: 30, flowVph: 1800, meanSpeedKmh: 90, occupancy: 0.1, lanes: 2, ...over };
}

describe('windowQuality', () => {
  it('ordinary traffic and an empty window are plausible', () => {
    expect(windowQuality(stats())).toEqual({ plausible: true, flags: [] });
    const empty = Object.fromEntries(WINDOW_STAT_FIELDS.map((f) => [f, null])) as WindowStats;
    expect(windowQuality({ ...empty, count: 0, flowVph: 0, lanes: 0 })).toEqual({ plausible: true, flags: [] });
  });

  it('occupancy above 1 is flagged; exactly 1 (a loop occupied the whole window) is not', () => {
    expect(windowQuality(stats({ occupancy: MAX_PLAUSIBLE_OCCUPANCY }))).toEqual({ plausible: true, flags: [] });
    expect(windowQuality(stats({ occupancy: 1.0001 }))).toEqual({ plausible: false, flags: [PlausibilityFlag.OCCUPANCY_OVER_1] });
  });

  it('flow is judged per observed lane: the same flow is plausible on two lanes and not on one', () => {
    const flow = 1.5 * MAX_PLAUSIBLE_FLOW_VPH_PER_LANE;
    expect(windowQuality(stats({ flowVph: flow, lanes: 2 })).flags).toEqual([]);
    expect(windowQuality(stats({ flowVph: flow, lanes: 1 }))).toEqual({ plausible: false, flags: [PlausibilityFlag.FLOW_OVER_CAPACITY] });
    // the limit itself is still plausible
    expect(windowQuality(stats({ flowVph: 2 * MAX_PLAUSIBLE_FLOW_VPH_PER_LANE, lanes: 2 })).flags).toEqual([]);
  });

  it('both flags at once, in a fixed order', () => {
    expect(windowQuality(stats({ occupancy: 3, flowVph: 9000, lanes: 1 }))).toEqual({
      plausible: false,
      flags: ['OCCUPANCY_OVER_1', 'FLOW_OVER_CAPACITY'],
    });
  });

  it('thresholds stay physical: above capacity (~2,400 veh/h per lane), occupancy a share of time', () => {
    expect(MAX_PLAUSIBLE_FLOW_VPH_PER_LANE).toBeGreaterThan(2400);
    expect(MAX_PLAUSIBLE_OCCUPANCY).toBe(1);
  });
});
