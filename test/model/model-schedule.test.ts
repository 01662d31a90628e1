import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstEndAfter, MAX_SCHEDULE_ENTRIES, ModelSchedule } from '../../src/model/model-schedule.js';

describe('ModelSchedule', () => {
  it('picks the entry of a window end: the last one whose fromEnd is at or before it', () => {
    const s = new ModelSchedule('a');
    expect(s.at(-1e12).active).toBe('a');
    s.set('active', 'b', 600);
    s.set('active', 'c', 1200);
    expect(s.list.map((e) => [e.fromEnd, e.active])).toEqual([
      [-Infinity, 'a'],
      [600, 'b'],
      [1200, 'c'],
    ]);
    expect([540, 600, 660, 1140, 1200, 1e9].map((end) => s.at(end).active)).toEqual(['a', 'b', 'b', 'b', 'c', 'c']);
    expect(s.at(Number.NaN).active).toBe('a');
    expect(s.latest.active).toBe('c');
  });

  it('a change holds from its end on: it overrides later changes of its role, not of the other role', () => {
    const s = new ModelSchedule<string>('a', null);
    s.set('shadow', 's1', 900);
    s.set('active', 'b', 1200);
    // An active change before both: the later active change is overridden, the shadow stays.
    s.set('active', 'x', 600);
    expect(s.list.map((e) => [e.fromEnd, e.active, e.shadow])).toEqual([
      [-Infinity, 'a', null],
      [600, 'x', null],
      [900, 'x', 's1'],
    ]);
    // A tombstone on the shadow at 1500; the same models next to each other merge.
    s.set('shadow', null, 1500);
    s.set('active', 'x', 1800);
    expect(s.list.map((e) => [e.fromEnd, e.active, e.shadow])).toEqual([
      [-Infinity, 'a', null],
      [600, 'x', null],
      [900, 'x', 's1'],
      [1500, 'x', null],
    ]);
    // From −Infinity: everywhere.
    s.set('active', 'z', -Infinity);
    expect(s.list.map((e) => [e.fromEnd, e.active, e.shadow])).toEqual([
      [-Infinity, 'z', null],
      [900, 'z', 's1'],
      [1500, 'z', null],
    ]);
    expect(() => s.set('active', null, 60)).toThrow(/cannot be removed/);
  });

  it('several swaps in any order agree with a plain per-end replay of the changes', () => {
    const change = fc.record({ role: fc.constantFrom('active' as const, 'shadow' as const), model: fc.constantFrom('m1', 'm2', 'm3', null), from: fc.integer({ min: 0, max: 40 }).map((k) => k * 60) });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        const s = new ModelSchedule<string>('m0', null);
        const oracle = new Map<number, { active: string; shadow: string | null }>();
        for (let end = -60; end <= 2460; end += 60) oracle.set(end, { active: 'm0', shadow: null });
        for (const c of changes) {
          const model = c.role === 'active' ? (c.model ?? 'm1') : c.model;
          s.set(c.role, model, c.from);
          for (const [end, m] of oracle) if (end >= c.from) m[c.role] = model as string;
        }
        for (const [end, m] of oracle) expect({ active: s.at(end).active, shadow: s.at(end).shadow }).toEqual(m);
        const ends = s.list.map((e) => e.fromEnd);
        expect(ends[0]).toBe(-Infinity);
        expect([...ends].sort((a, b) => a - b)).toEqual(ends);
      }),
    );
  });

  it('stays bounded: past MAX_SCHEDULE_ENTRIES the oldest entry merges into the next', () => {
    const s = new ModelSchedule('m0');
    for (let k = 1; k <= MAX_SCHEDULE_ENTRIES + 10; k++) s.set('active', `m${k}`, k * 60);
    expect(s.list).toHaveLength(MAX_SCHEDULE_ENTRIES);
    expect(s.list[0].fromEnd).toBe(-Infinity);
    expect(s.latest.active).toBe(`m${MAX_SCHEDULE_ENTRIES + 10}`);
    expect(s.at((MAX_SCHEDULE_ENTRIES + 10) * 60 - 1).active).toBe(`m${MAX_SCHEDULE_ENTRIES + 9}`);
  });

  it('map keeps shared models shared (one clone per model when it crosses to a shard) and of() checks the order', () => {
    const a = { id: 'a' };
    const b = { id: 'b' };
    const s = new ModelSchedule<{ id: string }>(a, b);
    s.set('active', b, 120);
    s.set('shadow', a, 180);
    const mapped = s.map((m) => ({ ...m }));
    expect(mapped.list[0].shadow).toBe(mapped.list[1].active);
    expect(mapped.list[0].active).toBe(mapped.list[2].shadow);
    expect(() => ModelSchedule.of([])).toThrow(RangeError);
    expect(() => ModelSchedule.of([{ fromEnd: 0, active: a, shadow: null }])).toThrow(/-Infinity/);
    expect(() =>
      ModelSchedule.of([
        { fromEnd: -Infinity, active: a, shadow: null },
        { fromEnd: 60, active: b, shadow: null },
        { fromEnd: 60, active: a, shadow: null },
      ]),
    ).toThrow(/ascend/);
  });

  it('firstEndAfter: the first multiple of the advance strictly after a time', () => {
    expect(firstEndAfter(0, 60)).toBe(60);
    expect(firstEndAfter(59.9, 60)).toBe(60);
    expect(firstEndAfter(60, 60)).toBe(120);
    expect(firstEndAfter(1_800_000_030.5, 60)).toBe(1_800_000_060);
  });
});
