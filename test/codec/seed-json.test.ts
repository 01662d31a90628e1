import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEED } from './fixtures.js';
import {
  DECODE_OK,
  EventColumnsBuilder,
  INVALID_JSON,
  MISSING_FIELD,
  SEED_FIELDS,
  UNKNOWN_POINT_ID,
  WRONG_TYPE,
  seedEventJson,
} from '../../src/codec/seed-json.js';
import { Reason } from '../../src/kernel/contract.js';
import { ReferenceKernel } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';

const POINTS = new Map([
  ['P0001', 0],
  ['P0002', 1],
  ['road-7/north', 2],
]);
const indexOf = (id: string) => POINTS.get(id);


const json = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('EventColumnsBuilder.appendJson', () => {
  it('decodes the seed format into the next row of every column', () => {
    const b = new EventColumnsBuilder(4);
    expect(b.appendJson(json(SEED), 1, indexOf)).toBe(DECODE_OK);
    expect(b.appendJson(json({ ...SEED, point_id: 'P0001', lane: 1, speed: 50 }), 2, indexOf)).toBe(DECODE_OK);
    const c = b.columns;
    expect(c.count).toBe(2);
    expect([c.tIn1[0], c.tOut1[0], c.tIn2[0], c.tOut2[0]]).toEqual([1700000000.125, 1700000000.375, 1700000000.9, 1700000001.15]);
    expect([c.speed[0], c.gapM[0], c.gapS[0], c.length[0]]).toEqual([87.5, 31.25, 1.286, 4.6]);
    expect([c.point[0], c.lane[0], c.partition[0]]).toEqual([1, 2, 1]);
    expect([c.point[1], c.lane[1], c.partition[1], c.speed[1]]).toEqual([0, 1, 2, 50]);
  });

  it('ignores extra fields and accepts the fields in any order', () => {
    const b = new EventColumnsBuilder(1);
    const reversed = Object.fromEntries(Object.entries({ ...SEED, extra: 'x' }).reverse());
    expect(b.appendJson(json(reversed), 0, indexOf)).toBe(DECODE_OK);
    expect(b.columns.speed[0]).toBe(87.5);
  });

  it('round-trips random valid events exactly (fast-check)', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
    const event = fc.record({
      lane: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      timestamp_in_1: finite,
      timestamp_out_1: finite,
      timestamp_in_2: finite,
      timestamp_out_2: finite,
      speed: finite,
      gap_meters: finite,
      gap_seconds: finite,
      length: finite,
      point_id: fc.constantFrom(...POINTS.keys()),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 63 })), { minLength: 1, maxLength: 20 }), (rows) => {
        const b = new EventColumnsBuilder(20);
        for (const [e, slot] of rows) expect(b.appendJson(Buffer.from(seedEventJson(e)), slot, indexOf)).toBe(DECODE_OK);
        const c = b.columns;
        expect(c.count).toBe(rows.length);
        rows.forEach(([e, slot], i) => {
          expect(c.tIn1[i]).toBe(e.timestamp_in_1);
          expect(c.tOut1[i]).toBe(e.timestamp_out_1);
          expect(c.tIn2[i]).toBe(e.timestamp_in_2);
          expect(c.tOut2[i]).toBe(e.timestamp_out_2);
          expect(c.speed[i]).toBe(e.speed);
          expect(c.gapM[i]).toBe(e.gap_meters);
          expect(c.gapS[i]).toBe(e.gap_seconds);
          expect(c.length[i]).toBe(e.length);
          expect(c.lane[i]).toBe(e.lane);
          expect(c.point[i]).toBe(POINTS.get(e.point_id));
          expect(c.partition[i]).toBe(slot);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses text that is not JSON, and a null value, as INVALID_JSON', () => {
    const b = new EventColumnsBuilder(2);
    expect(b.appendJson(Buffer.from('{"lane": 1,'), 0, indexOf)).toBe(INVALID_JSON);
    expect(b.detail).toMatch(/^not JSON/);
    expect(b.appendJson(Buffer.from('lane=1'), 0, indexOf)).toBe(INVALID_JSON);
    expect(b.appendJson(null, 0, indexOf)).toBe(INVALID_JSON);
    expect(b.count).toBe(0);
  });

  it('refuses JSON that is not an object as WRONG_TYPE', () => {
    const b = new EventColumnsBuilder(1);
    for (const v of ['[1,2]', '42', '"text"', 'null', 'true']) {
      expect(b.appendJson(Buffer.from(v), 0, indexOf)).toBe(WRONG_TYPE);
      expect(b.detail).toBe('not a JSON object');
    }
    expect(b.count).toBe(0);
  });

  it.each(SEED_FIELDS.map((f) => [f]))('refuses a message without %s as MISSING_FIELD naming it', (field) => {
    const b = new EventColumnsBuilder(1);
    const { [field]: _, ...rest } = SEED;
    expect(b.appendJson(json(rest), 0, indexOf)).toBe(MISSING_FIELD);
    expect(b.rejectField).toBe(field);
    expect(b.detail).toBe(`missing field "${field}"`);
    expect(b.count).toBe(0);
  });

  it.each(SEED_FIELDS.filter((f) => f !== 'point_id').map((f) => [f]))('refuses %s as a string or null as WRONG_TYPE', (field) => {
    const b = new EventColumnsBuilder(1);
    expect(b.appendJson(json({ ...SEED, [field]: String(SEED[field]) }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe(field);
    expect(b.detail).toContain(`"${field}"`);
    expect(b.appendJson(json({ ...SEED, [field]: null }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe(field);
    expect(b.count).toBe(0);
  });

  it("takes an integer point_id (the seed's generator writes them) as the point of its decimal string", () => {
    const b = new EventColumnsBuilder(5);
    const numbered = new Map([['7', 0], ['0', 1], ['9007199254740991', 2]]);
    const byId = (id: string) => numbered.get(id);
    expect(b.appendJson(json({ ...SEED, point_id: 7 }), 0, byId)).toBe(DECODE_OK);
    expect(b.appendJson(json({ ...SEED, point_id: '7' }), 0, byId)).toBe(DECODE_OK);
    expect(b.appendJson(json({ ...SEED, point_id: 0 }), 0, byId)).toBe(DECODE_OK);
    expect(b.appendJson(json({ ...SEED, point_id: Number.MAX_SAFE_INTEGER }), 0, byId)).toBe(DECODE_OK);
    expect([...b.columns.point.subarray(0, 4)]).toEqual([0, 0, 1, 2]);
    // Unknown as a number is unknown by its decimal form.
    expect(b.appendJson(json({ ...SEED, point_id: 8 }), 0, byId)).toBe(UNKNOWN_POINT_ID);
    expect(b.detail).toContain('"8"');
  });

  it.each([['7.5'], ['-3'], ['-0'], ['1e300'], ['9007199254740993'], ['true'], ['null']])('refuses point_id %s as WRONG_TYPE', (raw) => {
    const b = new EventColumnsBuilder(1);
    const value = seedEventJson(SEED).replace('"point_id":"P0002"', `"point_id":${raw}`);
    expect(value).toContain(`"point_id":${raw}`);
    expect(b.appendJson(Buffer.from(value), 0, (id) => (id === '7' || id === '0' ? 0 : undefined))).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe('point_id');
  });

  it('refuses a fractional or non-finite lane, and an empty point_id, as WRONG_TYPE', () => {
    const b = new EventColumnsBuilder(1);
    expect(b.appendJson(json({ ...SEED, lane: 1.5 }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.detail).toBe('field "lane" must be an integer');
    expect(b.appendJson(Buffer.from(seedEventJson(SEED).replace('"lane":2', '"lane":1e999')), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe('lane');
    expect(b.appendJson(json({ ...SEED, point_id: '' }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe('point_id');
    expect(b.appendJson(json({ ...SEED, point_id: 7.5 }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe('point_id');
    expect(b.count).toBe(0);
  });

  it('reports the first problem in field order', () => {
    const b = new EventColumnsBuilder(1);
    const { speed: _, ...noSpeed } = SEED;
    expect(b.appendJson(json({ ...noSpeed, lane: '2' }), 0, indexOf)).toBe(WRONG_TYPE);
    expect(b.rejectField).toBe('lane');
  });

  it('refuses a point_id missing from the road table as UNKNOWN_POINT_ID, naming it', () => {
    const b = new EventColumnsBuilder(1);
    expect(b.appendJson(json({ ...SEED, point_id: 'P9999' }), 0, indexOf)).toBe(UNKNOWN_POINT_ID);
    expect(b.detail).toContain('"P9999"');
    expect(b.count).toBe(0);
  });

  it('passes 1e999 through as Infinity, which the kernel refuses as NOT_FINITE', () => {
    const b = new EventColumnsBuilder(2);
    const text = seedEventJson(SEED).replace('"speed":87.5', '"speed":1e999');
    expect(text).toContain('1e999');
    expect(b.appendJson(Buffer.from(text), 0, indexOf)).toBe(DECODE_OK);
    expect(b.appendJson(json(SEED), 0, indexOf)).toBe(DECODE_OK);
    expect(b.columns.speed[0]).toBe(Infinity);
    const kernel = new ReferenceKernel({ spec: windowSpec(), pointCapacity: 4, partitions: 1, startWallClockS: SEED.timestamp_out_2 });
    for (let p = 0; p < 3; p++) kernel.setPoint(p, 100);
    const out = kernel.ingest(b.columns, SEED.timestamp_out_2);
    expect(out.rejections).toEqual([{ index: 0, reason: Reason.NOT_FINITE }]);
  });

  it('stores an integer lane beyond int32 as 0 (out of range for the kernel), not wrapped', () => {
    const b = new EventColumnsBuilder(1);
    expect(b.appendJson(json({ ...SEED, lane: 2 ** 32 + 1 }), 0, indexOf)).toBe(DECODE_OK);
    expect(b.columns.lane[0]).toBe(0);
  });
});

describe('EventColumnsBuilder capacity, reset and appendEvent', () => {
  it('reports isFull at capacity, refuses to grow, and reuses its arrays after reset', () => {
    const b = new EventColumnsBuilder(2);
    const speedArray = b.columns.speed;
    expect(b.isFull).toBe(false);
    b.appendEvent(SEED, 0, indexOf);
    b.appendEvent({ ...SEED, speed: 12 }, 0, indexOf);
    expect(b.isFull).toBe(true);
    expect(() => b.appendJson(json(SEED), 0, indexOf)).toThrow(/full/);
    expect(() => b.appendEvent(SEED, 0, indexOf)).toThrow(/full/);
    expect('grow' in b).toBe(false);
    b.reset();
    expect(b.isFull).toBe(false);
    expect(b.count).toBe(0);
    expect(b.appendEvent({ ...SEED, speed: 33 }, 3, indexOf)).toBe(DECODE_OK);
    expect(b.columns.speed).toBe(speedArray);
    expect(b.columns.speed[0]).toBe(33);
    expect(b.columns.partition[0]).toBe(3);
  });

  it('appendEvent writes the same row as appendJson of the same event, and refuses unknown points', () => {
    const a = new EventColumnsBuilder(2);
    const j = new EventColumnsBuilder(1);
    expect(a.appendEvent(SEED, 5, indexOf)).toBe(DECODE_OK);
    expect(j.appendJson(json(SEED), 5, indexOf)).toBe(DECODE_OK);
    for (const k of ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length', 'point', 'lane', 'partition'] as const) {
      expect(a.columns[k][0]).toBe(j.columns[k][0]);
    }
    expect(a.appendEvent({ ...SEED, point_id: 'nope' }, 0, indexOf)).toBe(UNKNOWN_POINT_ID);
    expect(a.count).toBe(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new EventColumnsBuilder(0)).toThrow(RangeError);
    expect(() => new EventColumnsBuilder(1.5)).toThrow(RangeError);
  });
});
