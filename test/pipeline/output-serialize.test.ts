import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROW_LONG, ROW_POINT, ROW_SHORT, ROW_WINDOW_END, WINDOW_STAT_FIELDS } from '../../src/kernel/contract.js';
import { CalendarResolver } from '../../src/join/calendar.js';
import type { RiskScore } from '../../src/join/types.js';
import { RISK_FEATURE_INDEX, RISK_FEATURE_NAMES, riskFeatures, riskFeaturesInto } from '../../src/model/features.js';
import { DEFAULT_MODEL_PATH, linearTerms, loadRiskModel, riskModel, scoreLinearInto, type RiskModel } from '../../src/model/risk-model.js';
import { ModelSchedule } from '../../src/model/model-schedule.js';
import { DEFAULT_RISK_LEVELS, riskLevel, type RiskLevels } from '../../src/model/risk-levels.js';
import { RiskRecordBuilder, scheduleFromJson, scheduleJson } from '../../src/pipeline/output.js';
import { OUT_ROW_F64, OUT_ROW_WEATHER, SHADOW_AGREES, SHADOW_DIFFERS, SHADOW_NONE } from '../../src/pipeline/shard-protocol.js';
import { parseRoadPoints } from '../../src/road/points.js';
import { builder, minuteOf, shardRows, SPEC, T0, table, vehicle } from './rows.js';

/*
 * RiskRecordBuilder.serialize must be JSON.stringify(build(rows, row)) byte for byte, and
 * lastReliable build's risk.reliable: random rows against the object path.
 */

/** Points with every kind of cell: no allowed speed, shapes as words and numbers, extra columns to escape. */
const CSV = [
  'point_id,nearest_weather_station,road_shape,allowed_speed,note,7,"we""ird",__proto__',
  'P0,S1,straight,100,plain,a,b,c',
  '"P""1",S\\2,curve,,"say ""hi""",back\\slash,"line1',
  'line2",x',
  'Pó,Śląsk,sharp_curve,80.5,zażółć 🚗 \u2028,\u0001ctl,"tab\t",',
  'P3,S1,0.5,,,,,',
  'P5,S1,curve,90,,,,',
  'P6,S\\2,straight,50,,,,',
  'P4,S4,,130,"{""json"":1}",</script>,\uD83D\uDE97,ü',
].join('\n');
const POINTS = parseRoadPoints(`${CSV}\n`, 'test.csv');
const N_POINTS = POINTS.points.length;

/** Minute ends around Polish DST changes, holidays and year ends (UTC epoch seconds), plus anything. */
const SPECIAL_ENDS = [
  Date.UTC(2026, 2, 29, 0, 0), // 01:00 CET → DST starts at 02:00 local
  Date.UTC(2026, 2, 29, 1, 0),
  Date.UTC(2026, 2, 29, 1, 1),
  Date.UTC(2026, 9, 25, 0, 0), // 02:00 CEST, DST ends at 03:00 local
  Date.UTC(2026, 9, 25, 1, 0),
  Date.UTC(2026, 9, 25, 1, 1),
  Date.UTC(2026, 10, 10, 23, 0), // 2026-11-11 00:00 local: Independence Day
  Date.UTC(2026, 10, 10, 23, 1),
  Date.UTC(2026, 10, 11, 22, 59),
  Date.UTC(2026, 10, 11, 23, 1),
  Date.UTC(2026, 11, 31, 23, 1), // New Year in Warsaw, not yet in UTC... and after
  Date.UTC(2026, 11, 24, 22, 30),
  Date.UTC(2027, 0, 1, 0, 0),
].map((ms) => ms / 1000);

const arbEnd = fc.oneof(
  fc.constantFrom(...SPECIAL_ENDS),
  fc.integer({ min: 28_333_334, max: 31_666_666 }).map((m) => m * 60),
  fc.integer({ min: 0, max: 2_000_000_000 }).map((t) => t * 2 + 0.25),
);

/** Any finite number, with weight on the awkward ones (−0, tiny, huge, integers). */
const finite = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: 0, max: 200, noNaN: true }),
  fc.integer({ min: -5, max: 5000 }),
  fc.constantFrom(0, -0, 1e-7, 1e21, 1e-7 / 3, 123456789012345680000, 0.1 + 0.2, 5e-324),
);
const stat = fc.oneof({ weight: 5, arbitrary: finite }, { weight: 2, arbitrary: fc.constant(Number.NaN) });

/** A window: random stats, an empty one, or one tripping the plausibility checks. */
const arbWindow = fc.oneof(
  fc.array(stat, { minLength: WINDOW_STAT_FIELDS.length, maxLength: WINDOW_STAT_FIELDS.length }),
  // Empty: count, flow and lanes 0, the rest null.
  fc.constant(WINDOW_STAT_FIELDS.map((f) => (f === 'count' || f === 'flowVph' || f === 'lanes' ? 0 : Number.NaN))),
  // Plausible-looking traffic, occupancy over 1 and/or flow over lane capacity sometimes.
  fc
    .record({
      count: fc.integer({ min: 0, max: 700 }),
      lanes: fc.integer({ min: 0, max: 8 }),
      occupancy: fc.oneof(fc.double({ min: 0, max: 3, noNaN: true }), fc.constant(1), fc.constant(Number.NaN)),
      flowScale: fc.constantFrom(60, 6, 3600, 7200),
      rest: fc.array(fc.double({ min: 0, max: 150, noNaN: true }), { minLength: 17, maxLength: 17 }),
    })
    .map(({ count, lanes, occupancy, flowScale, rest }) =>
      WINDOW_STAT_FIELDS.map((f, k) =>
        f === 'count' ? count : f === 'flowVph' ? count * flowScale : f === 'lanes' ? lanes : f === 'occupancy' ? occupancy : rest[k],
      ),
    ),
);

const arbWeather = fc.oneof(
  fc.constant(null),
  fc.record({
    timestamp: fc.oneof(finite, fc.integer({ min: 1_700_000_000, max: 1_900_000_000 })),
    temp: fc.oneof(finite, fc.double({ min: -20, max: 30, noNaN: true })),
    snow: fc.oneof(finite, fc.constantFrom(0, 0.5)),
    rain: fc.oneof(finite, fc.constantFrom(0, 1.2)),
    pressure: finite,
    wind: stat,
    visibility: fc.oneof(stat, fc.double({ min: 0, max: 400, noNaN: true })),
  }),
);

const arbRow = fc.record({
  point: fc.integer({ min: 0, max: N_POINTS - 1 }),
  end: arbEnd,
  short: arbWindow,
  long: arbWindow,
  weather: arbWeather,
});
type Row = typeof arbRow extends fc.Arbitrary<infer R> ? R : never;

function layout(rows: readonly Row[]): Float64Array {
  const out = new Float64Array(rows.length * OUT_ROW_F64).fill(Number.NaN);
  rows.forEach((r, i) => {
    const at = i * OUT_ROW_F64;
    out[at + ROW_POINT] = r.point;
    out[at + ROW_WINDOW_END] = r.end;
    out.set(r.short, at + ROW_SHORT);
    out.set(r.long, at + ROW_LONG);
    const w = at + OUT_ROW_WEATHER;
    if (r.weather === null) {
      out[w] = 0;
    } else {
      const x = r.weather;
      out.set([1, x.timestamp, x.temp, x.snow, x.rain, x.pressure, x.wind, x.visibility], w);
    }
  });
  return out;
}

/** A model that is not riskModel's: serialize must fall back to build + stringify. */
const foreignModel: RiskModel = {
  id: 'foreign "model"',
  description: '',
  intercept: 0,
  coefficients: { night: 1 },
  score(features): RiskScore {
    return { score: features.night / 2, model: this.id, contributions: { 'night\\': features.night, 10: -0 } };
  },
};

const MODELS: RiskModel[] = [
  loadRiskModel(DEFAULT_MODEL_PATH),
  // A subset in another order, negative coefficients (−0 contributions), an odd id.
  riskModel(
    { id: 'täst "v2"\\', intercept: 1e-300, features: { holiday: -1, occupancy: -0.5, curvature: 1e300, precipitation: 0, night: -2.5 } },
    'inline',
  ),
  riskModel({ id: 'empty', intercept: -0, features: {} }, 'inline'),
  foreignModel,
];

/** A switch inside the drawn window ends (1.7e9 … 1.9e9 and beyond). */
const SWITCH_END = 1_790_000_040;

/** Schedules with a shadow model, and with models changing at a window end (a swap while running). */
function schedules(): ModelSchedule<RiskModel>[] {
  const swapped = new ModelSchedule<RiskModel>(MODELS[0]);
  swapped.set('active', MODELS[1], SWITCH_END);
  swapped.set('shadow', MODELS[2], SWITCH_END - 60);
  swapped.set('shadow', null, SWITCH_END + 120);
  const toForeign = new ModelSchedule<RiskModel>(MODELS[2], MODELS[0]);
  toForeign.set('shadow', foreignModel, SWITCH_END);
  return [new ModelSchedule(MODELS[0], MODELS[1]), new ModelSchedule(MODELS[1], MODELS[1]), new ModelSchedule(MODELS[0], foreignModel), swapped, toForeign];
}

/** The bands each builder compares its active and shadow scores with. */
const LEVELS = new WeakMap<RiskRecordBuilder, RiskLevels>();

function builders(): RiskRecordBuilder[] {
  const calendars = [
    new CalendarResolver({ timeZone: 'Europe/Warsaw', holidays: 'PL', startOffsetS: SPEC.shortS }),
    new CalendarResolver({ timeZone: 'America/New_York', holidays: ['2026-11-11', '2026-03-29'], startOffsetS: 0 }),
  ];
  const narrow: RiskLevels = { elevated: 0.001, high: 0.5 };
  return [...MODELS, ...schedules()].flatMap((m, k) =>
    calendars.map((c) => {
      const levels = k % 2 === 0 ? DEFAULT_RISK_LEVELS : narrow;
      const b = new RiskRecordBuilder(SPEC, POINTS, c, m, levels);
      LEVELS.set(b, levels);
      return b;
    }),
  );
}

interface Outcome {
  json?: string;
  reliable?: boolean;
  shadow?: number;
  error?: string;
}

/** build's outcome: its JSON, reliable flag and shadow comparison, or the error it threw. */
function viaBuild(b: RiskRecordBuilder, rows: Float64Array, r: number): Outcome {
  try {
    const record = b.build(rows, r);
    const levels = LEVELS.get(b) ?? DEFAULT_RISK_LEVELS;
    const shadow = record.risk.shadow;
    const outcome = shadow === undefined ? SHADOW_NONE : riskLevel(record.risk.score, levels) === riskLevel(shadow.score, levels) ? SHADOW_AGREES : SHADOW_DIFFERS;
    return { json: JSON.stringify(record), reliable: record.risk.reliable, shadow: outcome };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

function viaSerialize(b: RiskRecordBuilder, rows: Float64Array, r: number): Outcome {
  try {
    const json = b.serialize(rows, r);
    return { json, reliable: b.lastReliable, shadow: b.lastShadow };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

describe('RiskRecordBuilder.serialize', () => {
  it('is JSON.stringify(build(rows, row)) byte for byte, and lastReliable is risk.reliable (random rows)', () => {
    const bs = builders();
    fc.assert(
      fc.property(fc.array(arbRow, { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 3 }), (drawn, mode) => {
        // Points of one station share its weather JSON per reading and end: rows with the first row's
        // end and reading (mode 1), its end and its reading but for one value (2), its reading (3).
        const first = drawn[0];
        const fields = ['timestamp', 'temp', 'snow', 'rain', 'pressure', 'wind', 'visibility'] as const;
        const rs = drawn.map((r, i) => {
          if (mode === 0 || i === 0 || first.weather === null) return r;
          if (mode === 3) return { ...r, weather: first.weather };
          if (mode === 1) return { ...r, end: first.end, weather: first.weather };
          const f = fields[i % fields.length];
          const other = r.weather?.[f] ?? first.weather[f] + 1;
          return { ...r, end: first.end, weather: { ...first.weather, [f]: other } };
        });
        const rows = layout(rs);
        for (const b of bs) {
          // Rows in order and then backwards: the per-point and per-end caches switch both ways.
          for (const r of [...rs.keys(), ...[...rs.keys()].reverse()]) {
            const want = viaBuild(b, rows, r);
            expect(viaSerialize(b, rows, r)).toEqual(want);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random rows with finite features always serialize (no throw) and parse back to build', () => {
    const b = new RiskRecordBuilder(SPEC, POINTS, new CalendarResolver(), MODELS[0]);
    const plain = fc.record({
      point: fc.integer({ min: 0, max: N_POINTS - 1 }),
      end: fc.constantFrom(...SPECIAL_ENDS),
      short: fc.array(fc.oneof(fc.double({ min: 0, max: 200, noNaN: true }), fc.constant(Number.NaN)), { minLength: 17, maxLength: 17 }),
      long: fc.array(fc.oneof(fc.double({ min: 0, max: 200, noNaN: true }), fc.constant(Number.NaN)), { minLength: 17, maxLength: 17 }),
      weather: fc.oneof(
        fc.constant(null),
        fc.record({
          timestamp: fc.integer({ min: 1_700_000_000, max: 1_900_000_000 }),
          temp: fc.double({ min: -20, max: 30, noNaN: true }),
          snow: fc.double({ min: 0, max: 5, noNaN: true }),
          rain: fc.double({ min: 0, max: 5, noNaN: true }),
          pressure: fc.double({ min: 950, max: 1050, noNaN: true }),
          wind: fc.oneof(fc.double({ min: 0, max: 40, noNaN: true }), fc.constant(Number.NaN)),
          visibility: fc.oneof(fc.double({ min: 0, max: 400, noNaN: true }), fc.constant(Number.NaN)),
        }),
      ),
    });
    fc.assert(
      fc.property(plain, (r) => {
        const rows = layout([r]);
        const json = b.serialize(rows, 0);
        const record = b.build(rows, 0);
        expect(json).toBe(JSON.stringify(record));
        expect(b.lastReliable).toBe(record.risk.reliable);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(record)));
      }),
      { numRuns: 300 },
    );
  });

  it('kernel rows of real traffic, flagged windows included (the shard path)', () => {
    const points = table(4);
    const events = [
      ...minuteOf(T0, 20, 0, [1, 2]),
      vehicle(T0 + 20, 1, 1, 30),
      vehicle(T0 + 40, 1, 1, 30),
      ...minuteOf(T0, 70, 2, [1]),
      ...minuteOf(T0 - 300, 7, 3, [1, 3]),
    ];
    const out = shardRows(4, events, T0 + 180);
    const b = builder(points);
    const reliable: boolean[] = [];
    expect(out.rowCount).toBeGreaterThan(8);
    for (let r = 0; r < out.rowCount; r++) {
      const record = b.build(out.rows, r);
      expect(b.serialize(out.rows, r)).toBe(JSON.stringify(record));
      expect(b.lastReliable).toBe(record.risk.reliable);
      reliable.push(b.lastReliable);
    }
    expect(reliable).toContain(false);
    expect(reliable).toContain(true);
  });

  it('a point index outside the table and a non-finite window end throw, as build does', () => {
    const b = builders()[0];
    const rows = layout([{ point: 0, end: T0, short: new Array(17).fill(0), long: new Array(17).fill(0), weather: null }]);
    rows[ROW_WINDOW_END] = Number.POSITIVE_INFINITY;
    expect(() => b.serialize(rows, 0)).toThrow(RangeError);
    rows[ROW_WINDOW_END] = T0;
    rows[ROW_POINT] = N_POINTS;
    expect(() => b.serialize(rows, 0)).toThrow(/road point index/);
  });
});

describe('riskFeaturesInto and scoreLinearInto', () => {
  it('give riskFeatures and score bit for bit', () => {
    const model = MODELS[1];
    const terms = linearTerms(model)!;
    expect(linearTerms(foreignModel)).toBeUndefined();
    const features = new Float64Array(RISK_FEATURE_NAMES.length);
    const contributions = new Float64Array(terms.names.length);
    fc.assert(
      fc.property(arbRow, fc.integer({ min: 0, max: 23 }), fc.boolean(), (r, hour, holiday) => {
        const rows = layout([r]);
        const point = POINTS.byIndex(r.point);
        const nullable = (v: number) => (Number.isNaN(v) ? null : v);
        const stats = (at: number) => Object.fromEntries(WINDOW_STAT_FIELDS.map((f, k) => [f, nullable(rows[at + k])]));
        const w = r.weather;
        const want = riskFeatures({
          short: stats(ROW_SHORT) as never,
          long: stats(ROW_LONG) as never,
          road: point,
          weather: w === null ? null : { station: point.station, ...w, wind: nullable(w.wind), visibility: nullable(w.visibility) },
          calendar: { weekday: 1, hour, holiday },
        });
        riskFeaturesInto(
          features,
          rows,
          ROW_SHORT,
          ROW_LONG,
          point.allowedSpeedKmh ?? Number.NaN,
          RISK_FEATURE_NAMES.length > 0 ? want.curvature : 0,
          w !== null,
          w?.temp ?? Number.NaN,
          w?.snow ?? Number.NaN,
          w?.rain ?? Number.NaN,
          w?.visibility ?? Number.NaN,
          hour,
          holiday,
        );
        for (const name of RISK_FEATURE_NAMES) expect(Object.is(features[RISK_FEATURE_INDEX[name]], want[name])).toBe(true);
        let expected: RiskScore | string;
        try {
          expected = model.score(want);
        } catch (e) {
          expected = (e as Error).message;
        }
        if (typeof expected === 'string') {
          expect(() => scoreLinearInto(terms, features, contributions)).toThrow(expected);
        } else {
          expect(scoreLinearInto(terms, features, contributions)).toBe(expected.score);
          expect(Object.keys(expected.contributions)).toEqual(terms.names);
          terms.names.forEach((name, j) => expect(Object.is(contributions[j], expected.contributions[name])).toBe(true));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('RiskRecordBuilder with a model schedule (a swap while running, a shadow model)', () => {
  const rowAt = (end: number, point: number) => ({ point, end, short: new Array(17).fill(1), long: new Array(17).fill(2), weather: null });

  it('scores each window end with its entry: ends before a switch by the old model, from it by the new one; risk.shadow only while a shadow runs', () => {
    const [swapped] = schedules().slice(3);
    const b = new RiskRecordBuilder(SPEC, POINTS, new CalendarResolver(), swapped);
    const ends = [-2, -1, 0, 1, 2, 3].map((k) => SWITCH_END + k * 60);
    const records = ends.map((end) => JSON.parse(b.serialize(layout([rowAt(end, 0)]), 0)) as { risk: { model: string; shadow?: { model: string; score: number } } });
    expect(records.map((r) => r.risk.model)).toEqual([MODELS[0].id, MODELS[0].id, MODELS[1].id, MODELS[1].id, MODELS[1].id, MODELS[1].id]);
    expect(records.map((r) => r.risk.shadow?.model ?? null)).toEqual([null, 'empty', 'empty', 'empty', null, null]);
    // The empty model scores logistic(−0) = 0.5 whatever the row.
    expect(records[1].risk.shadow).toEqual({ model: 'empty', score: 0.5 });
  });

  it('every shard scores one window end alike, whenever the new schedule reached it (the same schedule crosses to each)', () => {
    // Two shards: one got the change before it serialized anything, one between its rows (its FIFO
    // queue held rows of earlier ends first). Rows of each end must be the same bytes.
    const host = new ModelSchedule<RiskModel>(MODELS[0]);
    const early = new RiskRecordBuilder(SPEC, POINTS, new CalendarResolver(), scheduleFromJson(scheduleJson(host)));
    const late = new RiskRecordBuilder(SPEC, POINTS, new CalendarResolver(), scheduleFromJson(scheduleJson(host)));
    const before = SWITCH_END - 60;
    const rowsBefore = layout([rowAt(before, 0), rowAt(before, 1)]);
    const lateBefore = [late.serialize(rowsBefore, 0), late.serialize(rowsBefore, 1)];
    // The host's change: from SWITCH_END on (the first end it has not asked for); the schedule crosses as plain data.
    host.set('active', MODELS[1], SWITCH_END);
    host.set('shadow', MODELS[0], SWITCH_END + 60);
    early.useSchedule(scheduleFromJson(scheduleJson(host)));
    const earlyBefore = [early.serialize(rowsBefore, 0), early.serialize(rowsBefore, 1)];
    late.useSchedule(scheduleFromJson(scheduleJson(host)));
    expect(earlyBefore).toEqual(lateBefore);
    for (const end of [SWITCH_END, SWITCH_END + 60, SWITCH_END + 120]) {
      const rows = layout([rowAt(end, 2), rowAt(end, 3)]);
      const a = [early.serialize(rows, 0), early.serialize(rows, 1)];
      const c = [late.serialize(rows, 0), late.serialize(rows, 1)];
      expect(a).toEqual(c);
      expect(a.every((json) => (JSON.parse(json) as { risk: { model: string } }).risk.model === MODELS[1].id)).toBe(true);
    }
    // A rebuild computing an old end again (after a reassignment) scores it as it was.
    expect([late.serialize(rowsBefore, 0), late.serialize(rowsBefore, 1)]).toEqual(lateBefore);
  });
});
