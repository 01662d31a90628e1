import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRestartPoint, encodeRestartPoint, OffsetTracker } from '../../src/service/offsets.js';

describe('restart points in offset metadata', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        fc.oneof(fc.constant(-Infinity), fc.double({ min: 0, max: 2 ** 40, noNaN: true })),
        (end, rebuild, max) => {
          expect(decodeRestartPoint(encodeRestartPoint({ end: end * 60, rebuild, max }))).toEqual({ end: end * 60, rebuild, max });
        },
      ),
    );
  });

  it.each([
    null,
    '',
    'not json',
    '{"v":1,"end":60,"rebuild":"1"}',
    '{"v":3,"end":60,"rebuild":"1","max":null}',
    '{"v":2,"end":"60","rebuild":"1","max":null}',
    '{"v":2,"end":60,"max":null}',
    '{"v":2,"end":60,"rebuild":"1","max":"x"}',
  ])(
    'metadata %j written by something else means: no restart point',
    (metadata) => {
      expect(decodeRestartPoint(metadata)).toBeUndefined();
    },
  );
});

describe('OffsetTracker', () => {
  it('the rebuild offset is the smallest offset holding an event of a pane still needed', () => {
    const t = new OffsetTracker(2, 14);
    t.startAt(0, 100, 2990);
    t.admitted(0, 100, 50, 2990);
    t.admitted(0, 101, 51, 3001);
    t.admitted(0, 102, 50, 3070); // out of order: pane 50 again
    t.admitted(0, 103, 52, 3070);
    t.routed(0, 103);
    t.setMaxEventTime(0, 3130);
    expect(t.positionOf(0)).toBe(104);
    // With the largest event time before that record: a re-read from there decides lateness alike.
    expect(t.rebuildPoint(0, 50)).toEqual({ offset: 100, maxBefore: 2990 });
    expect(t.rebuildPoint(0, 51)).toEqual({ offset: 101, maxBefore: 3001 });
    expect(t.rebuildPoint(0, 52)).toEqual({ offset: 103, maxBefore: 3070 });
    // Nothing needed: start from the position.
    expect(t.rebuildPoint(0, 53)).toEqual({ offset: 104, maxBefore: 3130 });
    // Other partitions are independent.
    expect(t.positionOf(1)).toBe(-1);
  });

  it('a ring slot reused by a newer pane forgets the old pane', () => {
    const t = new OffsetTracker(1, 4);
    t.admitted(0, 10, 1, 0);
    t.admitted(0, 20, 5, 0); // same slot as pane 1
    t.routed(0, 20);
    expect(t.rebuildPoint(0, 1).offset).toBe(20);
  });
});

describe('OffsetTracker snapshot', () => {
  it('a restored snapshot gives the same position and rebuild point as the tracker it came from', () => {
    const shard = new OffsetTracker(3, 6);
    shard.startAt(1, 100, 5_000);
    shard.admitted(1, 100, 90, 5_000);
    shard.admitted(1, 103, 91, 5_040);
    shard.routed(1, 103);
    shard.setMaxEventTime(1, 5_100);
    const host = new OffsetTracker(3, 6);
    host.restore(1, shard.snapshot(1));
    expect(host.positionOf(1)).toBe(104);
    expect(host.rebuildPoint(1, 91)).toEqual(shard.rebuildPoint(1, 91));
    expect(host.rebuildPoint(1, 90)).toEqual({ offset: 100, maxBefore: 5_000 });
    // Other partitions are untouched; a snapshot of another ring size is refused.
    expect(host.positionOf(0)).toBe(-1);
    expect(() => host.restore(0, new OffsetTracker(3, 4).snapshot(0))).toThrow(/expected/);
  });
});
