import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRestartPoint, encodeRestartPoint, OffsetTracker } from '../../src/service/offsets.js';

describe('restart points in offset metadata', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), (end, rebuild) => {
        expect(decodeRestartPoint(encodeRestartPoint({ end: end * 60, rebuild }))).toEqual({ end: end * 60, rebuild });
      }),
    );
  });

  it.each([null, '', 'not json', '{"v":2,"end":60,"rebuild":"1"}', '{"v":1,"end":"60","rebuild":"1"}', '{"v":1,"end":60}'])(
    'metadata %j written by something else means: no restart point',
    (metadata) => {
      expect(decodeRestartPoint(metadata)).toBeUndefined();
    },
  );
});

describe('OffsetTracker', () => {
  it('the rebuild offset is the smallest offset holding an event of a pane still needed', () => {
    const t = new OffsetTracker(2, 14);
    t.startAt(0, 100);
    t.admitted(0, 100, 50);
    t.admitted(0, 101, 51);
    t.admitted(0, 102, 50); // out of order: pane 50 again
    t.admitted(0, 103, 52);
    t.routed(0, 103);
    expect(t.positionOf(0)).toBe(104);
    expect(t.rebuildOffset(0, 50)).toBe(100);
    expect(t.rebuildOffset(0, 51)).toBe(101);
    expect(t.rebuildOffset(0, 52)).toBe(103);
    // Nothing needed: start from the position.
    expect(t.rebuildOffset(0, 53)).toBe(104);
    // Other partitions are independent.
    expect(t.positionOf(1)).toBe(-1);
  });

  it('a ring slot reused by a newer pane forgets the old pane', () => {
    const t = new OffsetTracker(1, 4);
    t.admitted(0, 10, 1);
    t.admitted(0, 20, 5); // same slot as pane 1
    t.routed(0, 20);
    expect(t.rebuildOffset(0, 1)).toBe(20);
  });
});
