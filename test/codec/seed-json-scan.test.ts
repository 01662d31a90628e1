import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEED } from './fixtures.js';
import { F_SPEED, K_NUMBER, PointIndexBytes, SeedJsonScanner } from '../../src/codec/seed-json-scan.js';
import {
  DECODE_OK,
  type DecodeResult,
  EventColumnsBuilder,
  INVALID_JSON,
  MISSING_FIELD,
  SEED_FIELDS,
  UNKNOWN_POINT_ID,
  WRONG_TYPE,
  seedEventJson,
} from '../../src/codec/seed-json.js';

const IDS = ['P0001', 'P0002', 'road-7/north', '7', '0', '007', '9007199254740991', 'ünï', '12', ''];
const POINTS = PointIndexBytes.fromIds(IDS);
/** SEED_JSON_SCAN_RUNS=10 multiplies every property's runs (a longer search, by hand). */
const SCALE = Math.max(1, Number(process.env.SEED_JSON_SCAN_RUNS ?? 1));
const runs = (n: number) => ({ numRuns: Math.round(n * SCALE) });
const COLUMNS = ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length', 'point', 'lane', 'partition'] as const;


/**
 * Decodes bytes[from, to) with appendJson (the JSON.parse path) and appendJsonBytes and expects the
 * same result, detail, field and row. Returns the result and whether the byte path fell back.
 */
class Pair {
  readonly reference = new EventColumnsBuilder(1);
  readonly scanned = new EventColumnsBuilder(1);
  fallbacks = 0;
  calls = 0;

  constructor() {
    const original = this.scanned.appendJson.bind(this.scanned);
    this.scanned.appendJson = (...args) => {
      this.fallbacks++;
      return original(...args);
    };
  }

  check(bytes: Uint8Array, from = 0, to = bytes.length, slot = 5): DecodeResult {
    this.reference.reset();
    this.scanned.reset();
    this.calls++;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from);
    const expected = this.reference.appendJson(text, slot, POINTS.indexOf);
    const got = this.scanned.appendJsonBytes(bytes, from, to, slot, POINTS);
    const label = JSON.stringify(text.toString('latin1'));
    expect(got, label).toBe(expected);
    expect(this.scanned.count, label).toBe(this.reference.count);
    if (expected === DECODE_OK) {
      for (const k of COLUMNS) {
        const a = this.reference.columns[k][0];
        const b = this.scanned.columns[k][0];
        if (!Object.is(a, b)) expect.fail(`${label}: column ${k}: ${b} (bytes) vs ${a} (JSON.parse)`);
      }
    } else {
      expect(this.scanned.detail, label).toBe(this.reference.detail);
      expect(this.scanned.rejectField, label).toBe(this.reference.rejectField);
    }
    return expected;
  }

  checkText(text: string): DecodeResult {
    return this.check(Buffer.from(text, 'utf8'));
  }
}

// ---- Generators ------------------------------------------------------------------------------

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const anyDouble = fc.oneof(
  finiteDouble,
  fc.integer({ min: -1e6, max: 1e6 }).map((k) => k / 1000),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map((ms) => ms / 1000),
  fc.integer({ min: 1_600_000_000_000_000, max: 1_900_000_000_000_000 }).map((us) => us / 1e6),
  fc.constantFrom(0, -0, 1, -1, 2 ** 53, 2 ** 53 + 2, 1e22, 1e23, 5e-324, 1.7976931348623157e308, 0.1, 0.3),
);

/** Python's repr of a float (json.dumps): shortest round trip, always a '.0' or an exponent. */
function pythonRepr(d: number): string {
  if (Object.is(d, -0)) return '-0.0';
  const abs = Math.abs(d);
  if (abs !== 0 && (abs >= 1e16 || abs < 1e-4)) {
    const [mant, exp] = d.toExponential().split('e');
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(d);
  return Number.isInteger(d) ? `${s}.0` : s;
}

/** Some JSON spelling of d (all parse to d, or to the double nearest the spelled decimal). */
const numberText = (d: number): fc.Arbitrary<string> =>
  fc.constantFrom(
    JSON.stringify(d),
    pythonRepr(d),
    d.toPrecision(17),
    d.toPrecision(21),
    d.toExponential(),
    d.toExponential(16).replace('e', 'E'),
    d.toExponential(3).replace('e+', 'e'),
    Number.isInteger(d) && Math.abs(d) < 1e21 ? d.toFixed(3) : String(d),
  ).map((s) => (s.includes('Infinity') || s === 'NaN' ? String(0) : s.replace(/e\+?/, (m) => m)));

const ws = fc.constantFrom('', '', '', ' ', '  ', '\n', '\t', '\r\n', ' \n\t ');
const separators = fc.oneof(
  fc.constant({ comma: ',', colon: ':', pre: '', post: '' }),
  fc.constant({ comma: ', ', colon: ': ', pre: '', post: '' }),
  fc.record({ comma: fc.tuple(ws, ws).map(([a, b]) => `${a},${b}`), colon: fc.tuple(ws, ws).map(([a, b]) => `${a}:${b}`), pre: ws, post: ws }),
);

const jsonString = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"a\\nb"', '"\\u00e9"', '"\\ud800"', '"x\\"y"', '"ünï"', '"\\/"', '""'),
);
const scalarText = fc.oneof(jsonString, fc.constantFrom('true', 'false', 'null'), anyDouble.chain(numberText));
const nestedText = fc.constantFrom(
  '[]',
  '{}',
  '[ ]',
  '{ }',
  '[1, 2, "x"]',
  '{"lane": 3, "a": [null]}',
  '[{"point_id": "P0001"}]',
  '{"k\\u0041": {"x": [true, false, -1.5e3, "\\n"]}}',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
);

/** A known field's value: usually right, sometimes of another type. */
function fieldValue(field: (typeof SEED_FIELDS)[number]): fc.Arbitrary<string> {
  let right: fc.Arbitrary<string>;
  if (field === 'lane') {
    right = fc.oneof(
      fc.integer({ min: -3, max: 9 }).map(String),
      fc.constantFrom('1.0', '2e0', '20e-1', '-0', '1.5', '4294967297', '1e999', '-1e999', '2147483648', '-2147483649', '0.2e1'),
    );
  } else if (field === 'point_id') {
    right = fc.oneof(
      fc.constantFrom(...IDS.map((id) => JSON.stringify(id))),
      fc.constantFrom('7', '0', '12', '7.0', '7e0', '70e-1', '0.7e1', '-0', '-7', '7.5', '9007199254740991', '9007199254740993', '1e300', '007', '"007"', '"P9999"', '"road-7\\/north"', '"P000\\u0031"', '8'),
    );
  } else {
    right = anyDouble.chain(numberText);
  }
  return fc.oneof({ weight: 12, arbitrary: right }, { weight: 1, arbitrary: scalarText }, { weight: 1, arbitrary: nestedText });
}

const unknownKey = fc.constantFrom('extra', 'lanes', 'Lane', 'timestamp_in_3', 'timestamp_out_', 'point_i', 'point_idx', 'läne', 'gap', 'speed ', '', '__proto__');
const escapedKey = fc.constantFrom('l\\u0061ne', 'spe\\u0065d', 'point\\u005fid', 'x\\ny');

interface Member {
  key: string;
  value: string;
}

/** A seed event as JSON text, in many spellings; mostly valid events. */
const eventText = fc
  .record({
    present: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }).map((bits) => bits.map((b) => b || Math.random() < 0.9)),
    values: fc.tuple(...SEED_FIELDS.map((f) => fieldValue(f))),
    extras: fc.array(fc.record({ key: fc.oneof({ weight: 6, arbitrary: unknownKey }, { weight: 1, arbitrary: escapedKey }), value: fc.oneof({ weight: 4, arbitrary: scalarText }, { weight: 1, arbitrary: nestedText }) }), { maxLength: 3 }),
    duplicates: fc.array(fc.record({ field: fc.integer({ min: 0, max: 9 }), value: fc.constantFrom('3', '"x"', 'null', '12.25', '"P0001"', '7') }), { maxLength: 2 }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }),
    shuffle: fc.boolean(),
    sep: separators,
  })
  .map(({ present, values, extras, duplicates, order, shuffle, sep }) => {
    const members: Member[] = [];
    SEED_FIELDS.forEach((f, i) => {
      if (present[i]) members.push({ key: f, value: values[i] });
    });
    for (const d of duplicates) members.push({ key: SEED_FIELDS[d.field], value: d.value });
    members.push(...extras);
    const ordered = shuffle ? members.map((m, i) => ({ m, r: order[i % order.length] + i * 1e-9 })).sort((a, b) => a.r - b.r).map((x) => x.m) : members;
    const body = ordered.map((m) => `"${m.key}"${sep.colon}${m.value}`).join(sep.comma);
    return `${sep.pre}{${sep.pre}${body}${sep.post}}${sep.post}`;
  });

const validEvent = fc.record({
  lane: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  timestamp_in_1: anyDouble,
  timestamp_out_1: anyDouble,
  timestamp_in_2: anyDouble,
  timestamp_out_2: anyDouble,
  speed: anyDouble,
  gap_meters: anyDouble,
  gap_seconds: anyDouble,
  length: anyDouble,
  point_id: fc.constantFrom(...IDS.filter((id) => id !== '')),
});

// ---- Tests ------------------------------------------------------------------------------------

describe('EventColumnsBuilder.appendJsonBytes: same as appendJson', () => {
  it('decodes seedEventJson events without falling back, column by column as appendJson (fast-check)', () => {
    const pair = new Pair();
    fc.assert(
      fc.property(validEvent, fc.integer({ min: 0, max: 63 }), (e, slot) => {
        const bytes = Buffer.from(seedEventJson(e));
        pair.check(bytes, 0, bytes.length, slot);
      }),
      runs(3000),
    );
    // Only the non-ASCII point id goes through JSON.parse.
    expect(pair.fallbacks).toBeLessThan(pair.calls * 0.2);
  });

  it('decodes a seed event inside a larger buffer (from, to), ignoring the bytes around it', () => {
    const pair = new Pair();
    const text = seedEventJson(SEED);
    for (const [before, after] of [['', ''], ['xx{', '}garbage'], ['\u0000', '[1'], ['{"lane":', ',']]) {
      const bytes = Buffer.from(before + text + after);
      expect(pair.check(bytes, before.length, before.length + text.length)).toBe(DECODE_OK);
      // A sub-array view at an offset of its ArrayBuffer.
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      expect(pair.check(view, before.length, before.length + text.length)).toBe(DECODE_OK);
    }
    expect(pair.fallbacks).toBe(0);
  });

  it('decodes events in Python json.dumps style, any key order, extra and repeated keys (fast-check)', () => {
    const pair = new Pair();
    const results = new Map<DecodeResult, number>();
    fc.assert(
      fc.property(eventText, (text) => {
        const r = pair.checkText(text);
        results.set(r, (results.get(r) ?? 0) + 1);
      }),
      runs(6000),
    );
    // The generator reaches every outcome.
    for (const r of [DECODE_OK, MISSING_FIELD, WRONG_TYPE, UNKNOWN_POINT_ID] as DecodeResult[]) expect(results.get(r) ?? 0, String(r)).toBeGreaterThan(20);
    // Fallbacks: escaped keys, escaped or non-ASCII point ids (about a third of these messages).
    expect(pair.fallbacks).toBeLessThan(pair.calls * 0.5);
  });

  it('gives the same result and detail for random mutations of valid messages (fast-check)', () => {
    const pair = new Pair();
    const interesting = [0x22, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x5c, 0x2d, 0x2b, 0x2e, 0x30, 0x31, 0x39, 0x65, 0x45, 0x20, 0x0a, 0x00, 0x7f, 0x80, 0xc3, 0xef, 0xff, 0x6e, 0x74, 0x66, 0x75];
    const byte = fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 }));
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('drop' as const), at: fc.nat(), b: fc.constant(0) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), b: byte }),
      fc.record({ op: fc.constant('replace' as const), at: fc.nat(), b: byte }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), b: fc.constant(0) }),
    );
    const source = fc.oneof(validEvent.map((e) => seedEventJson(e)), eventText);
    const results = new Map<DecodeResult, number>();
    fc.assert(
      fc.property(source, fc.array(mutation, { minLength: 1, maxLength: 3 }), (text, mutations) => {
        let bytes = [...Buffer.from(text, 'utf8')];
        for (const m of mutations) {
          const at = bytes.length === 0 ? 0 : m.at % (bytes.length + (m.op === 'insert' ? 1 : 0));
          if (m.op === 'drop') bytes.splice(at, 1);
          else if (m.op === 'insert') bytes.splice(at, 0, m.b);
          else if (m.op === 'replace') bytes[at] = m.b;
          else bytes = bytes.slice(0, at);
        }
        const r = pair.check(Uint8Array.from(bytes));
        results.set(r, (results.get(r) ?? 0) + 1);
      }),
      runs(20000),
    );
    for (const r of [DECODE_OK, INVALID_JSON, MISSING_FIELD, WRONG_TYPE, UNKNOWN_POINT_ID] as DecodeResult[]) expect(results.get(r) ?? 0, String(r)).toBeGreaterThan(20);
  });

  it('handles the edge cases one by one like appendJson', () => {
    const pair = new Pair();
    const seed = seedEventJson(SEED);
    const cases = [
      '',
      ' ',
      '{}',
      '{ }',
      '[]',
      '42',
      '"x"',
      'null',
      '\ufeff' + seed,
      seed + ' ',
      seed + '\n\r\t',
      seed + ' x',
      seed + '}',
      seed + ',',
      seed.replace('}', ',}'),
      seed.replace('{', '{,'),
      seed.replace('"lane":2', '"lane":02'),
      seed.replace('"lane":2', '"lane":2.'),
      seed.replace('"lane":2', '"lane":-'),
      seed.replace('"lane":2', '"lane":+2'),
      seed.replace('"lane":2', '"lane":2e'),
      seed.replace('"lane":2', '"lane":2e+'),
      seed.replace('"lane":2', '"lane":.5'),
      seed.replace('"lane":2', '"lane":NaN'),
      seed.replace('"lane":2', '"lane":Infinity'),
      seed.replace('"lane":2', '"lane":-Infinity'),
      seed.replace('"lane":2', '"lane":tru'),
      seed.replace('"lane":2', '"lane":nul'),
      seed.replace('"lane":2', '"lane":True'),
      seed.replace('"lane":2', '"lane":2.0'),
      seed.replace('"lane":2', '"lane":2E0'),
      seed.replace('"lane":2', '"lane":-0'),
      seed.replace('"lane":2', '"lane":1e999'),
      seed.replace('"lane":2', '"lane":0e99999999999999999'),
      seed.replace('"lane":2', '"lane":9007199254740993'),
      seed.replace('"lane":2', '"lane":"2"'),
      seed.replace('"lane":2', '"lane":[2]'),
      seed.replace('"lane":2', '"lane":{}'),
      seed.replace('"lane":2', '"lane":2,"lane":3'),
      seed.replace('"lane":2', '"lane":"x","lane":3'),
      seed.replace('"lane":2', '"lane":3,"lane":"x"'),
      seed.replace('"lane":2', '"l\\u0061ne":3'),
      seed.replace('"lane":2', '"lane":3,"l\\u0061ne":"x"'),
      seed.replace('"lane":2', '"lane"\t:\n2'),
      seed.replace('"lane":2', '"lane":2\u00a0'),
      seed.replace('"lane":2', '"lane":2\u000b'),
      seed.replace('"lane":2,', ''),
      seed.replace('"speed":87.5', '"speed":"87.5"'),
      seed.replace('"speed":87.5', '"speed":1e999'),
      seed.replace('"speed":87.5', '"speed":-1e999'),
      seed.replace('"speed":87.5', '"speed":1.7976931348623157e308'),
      seed.replace('"speed":87.5', '"speed":1.7976931348623158e308'),
      seed.replace('"speed":87.5', '"speed":4.9e-324'),
      seed.replace('"speed":87.5', '"speed":2.4703282292062328e-324'),
      seed.replace('"speed":87.5', '"speed":0.000000000000000000000000000000000000000000001'),
      seed.replace('"speed":87.5', '"speed":87.50000000000000000000000000001'),
      seed.replace('"speed":87.5', '"speed":-0.0'),
      seed.replace('"speed":87.5', '"speed":-0e5'),
      seed.replace('"speed":87.5', '"speed":1e22'),
      seed.replace('"speed":87.5', '"speed":1e23'),
      seed.replace('"speed":87.5', '"speed":1e-22'),
      seed.replace('"speed":87.5', '"speed":1e-23'),
      seed.replace('"speed":87.5', '"speed":9007199254740993'),
      seed.replace('"speed":87.5', '"speed":9007199254740992.5'),
      seed.replace('"speed":87.5', '"speed":900719925474099.25'),
      seed.replace('"speed":87.5', '"speed":8.75e1'),
      seed.replace('"speed":87.5', '"speed":875E-1'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[1,{"a":"}"}]'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[1,{"a":"}"}'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[1,]'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":{"a"}'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":{"a":1,}'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":{1:1}'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[01]'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[1 2]'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":[1],"speed":[2]'),
      seed.replace('"speed":87.5', `"speed":87.5,"extra":${'['.repeat(31)}${']'.repeat(31)}`),
      seed.replace('"speed":87.5', `"speed":87.5,"extra":${'['.repeat(40)}${']'.repeat(40)}`),
      seed.replace('"speed":87.5', `"speed":87.5,"extra":${'[{"a":'.repeat(20)}1${'}]'.repeat(20)}`),
      seed.replace('"speed":87.5', `"speed":87.5,"extra":${'['.repeat(40)}${']'.repeat(39)}`),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":"\\u12"'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":"\\x"'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":"a\tb"'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":"a\u007fb"'),
      seed.replace('"speed":87.5', '"speed":87.5,"extra":"\\ud800\\u0041"'),
      seed.replace('"speed":87.5', '"speed":87.5,"ext\u00e9":1'),
      seed.replace('"speed":87.5', '"speed":87.5,"":1'),
      seed.replace('"speed":87.5', '"speed":87.5,"__proto__":{"lane":1}'),
      seed.replace('"speed":87.5', '"speed":87.5,"__proto__":1'),
      seed.replace('"point_id":"P0002"', '"point_id":""'),
      seed.replace('"point_id":"P0002"', '"point_id":"P9999"'),
      seed.replace('"point_id":"P0002"', '"point_id":"P000\\u0032"'),
      seed.replace('"point_id":"P0002"', '"point_id":"\u00fcn\u00ef"'),
      seed.replace('"point_id":"P0002"', '"point_id":"road-7/north"'),
      seed.replace('"point_id":"P0002"', '"point_id":"road-7\\/north"'),
      seed.replace('"point_id":"P0002"', '"point_id":7'),
      seed.replace('"point_id":"P0002"', '"point_id":7.0'),
      seed.replace('"point_id":"P0002"', '"point_id":0.7e1'),
      seed.replace('"point_id":"P0002"', '"point_id":0'),
      seed.replace('"point_id":"P0002"', '"point_id":-0'),
      seed.replace('"point_id":"P0002"', '"point_id":-0.0'),
      seed.replace('"point_id":"P0002"', '"point_id":12'),
      seed.replace('"point_id":"P0002"', '"point_id":13'),
      seed.replace('"point_id":"P0002"', '"point_id":9007199254740991'),
      seed.replace('"point_id":"P0002"', '"point_id":9007199254740992'),
      seed.replace('"point_id":"P0002"', '"point_id":007'),
      seed.replace('"point_id":"P0002"', '"point_id":"007"'),
      seed.replace('"point_id":"P0002"', '"point_id":null'),
      seed.replace('"point_id":"P0002"', '"point_id":["P0002"]'),
      seed.replace('"point_id":"P0002"', '"point_id":"P0002","point_id":"P0001"'),
      seed.replace('"point_id":"P0002"', '"point_id":"P0002","point_id":7'),
      seed.replace('"point_id":"P0002"', '"point_id":7,"point_id":"P9"'),
    ];
    for (const text of cases) pair.checkText(text);
    // Not JSON text at all (invalid UTF-8 in and out of strings).
    const seedBytes = Buffer.from(seed);
    pair.check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), seedBytes]));
    pair.check(Buffer.from(seed.replace('"P0002"', '"P00\u0000"'), 'latin1'));
    pair.check(Buffer.concat([Buffer.from('{"ex'), Buffer.from([0xe2, 0x22]), Buffer.from(':1,'), seedBytes.subarray(1)]));
    pair.check(Buffer.concat([Buffer.from('{"ex":"'), Buffer.from([0xff, 0xc3]), Buffer.from('",'), seedBytes.subarray(1)]));
    pair.check(Buffer.concat([Buffer.from('{"point_id":"'), Buffer.from([0xc3]), Buffer.from('",'), seedBytes.subarray(1)]));
  });

  it('passes a null value (tombstone) on as appendJson does', () => {
    const b = new EventColumnsBuilder(1);
    expect(b.appendJsonBytes(null, 0, 0, 0, POINTS)).toBe(INVALID_JSON);
    expect(b.detail).toBe('not JSON: empty message (null value)');
  });

  it('throws when full, as appendJson, but refuses invalid JSON first', () => {
    const b = new EventColumnsBuilder(1);
    const bytes = Buffer.from(seedEventJson(SEED));
    expect(b.appendJsonBytes(bytes, 0, bytes.length, 0, POINTS)).toBe(DECODE_OK);
    expect(() => b.appendJsonBytes(bytes, 0, bytes.length, 0, POINTS)).toThrow(/full/);
    expect(() => b.appendJsonBytes(Buffer.from('{"lane":"x"}'), 0, 12, 0, POINTS)).toThrow(/full/);
    expect(b.appendJsonBytes(Buffer.from('{'), 0, 1, 0, POINTS)).toBe(INVALID_JSON);
  });
});

describe('SeedJsonScanner numbers: the same double as JSON.parse', () => {
  const scanner = new SeedJsonScanner();
  const valueOf = (text: string): number => {
    const bytes = Buffer.from(`{"speed":${text}}`);
    expect(scanner.scan(bytes, 0, bytes.length), text).toBe(true);
    expect(scanner.kind[F_SPEED]).toBe(K_NUMBER);
    return scanner.value[F_SPEED];
  };
  const same = (text: string) => {
    const got = valueOf(text);
    const want = JSON.parse(text) as number;
    if (!Object.is(got, want)) expect.fail(`${text}: ${got} (scanner) vs ${want} (JSON.parse)`);
  };

  it('JSON.stringify of random doubles, and their other spellings (fast-check)', () => {
    fc.assert(fc.property(finiteDouble, (d) => same(JSON.stringify(d))), runs(20000));
    fc.assert(fc.property(anyDouble.chain(numberText), (t) => same(t)), runs(20000));
    fc.assert(fc.property(finiteDouble, fc.integer({ min: 1, max: 21 }), (d, p) => same(d.toPrecision(p))), runs(20000));
  });

  it('random decimal strings (fast-check)', () => {
    const digits = (min: number, max: number) => fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((a) => a.join(''));
    const decimal = fc
      .record({
        neg: fc.boolean(),
        int: fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 24)).map(([a, b]) => a + b)),
        frac: fc.option(digits(1, 26)),
        exp: fc.option(fc.record({ e: fc.constantFrom('e', 'E'), sign: fc.constantFrom('', '+', '-'), digits: fc.oneof(digits(1, 2), digits(1, 4), fc.integer({ min: 15, max: 30 }).map(String)) })),
      })
      .map(({ neg, int, frac, exp }) => `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.e + exp.sign + exp.digits}`);
    fc.assert(fc.property(decimal, (t) => same(t)), runs(50000));
  });

  it('the fast path edges: 2^53, 10^22, 16 and 17 digits', () => {
    for (const t of [
      '9007199254740991',
      '9007199254740992',
      '9007199254740993',
      '9007199254740989',
      '900719925474098.9',
      '900719925474099.1',
      '0.9007199254740993',
      '1e22',
      '1e-22',
      '9e22',
      '1.5e-22',
      '123456789012345e-22',
      '123456789012345e22',
      '1700000000.1234567',
      '1700000000.123456',
      '0.1',
      '0.2',
      '0.30000000000000004',
      '2.2250738585072011e-308',
      '2.2250738585072014e-308',
      '4.9406564584124654e-324',
      '-0',
      '-0.0e0',
      '0.0000000000000000000000000000000000000000000000000000000000000000000001',
      `0.${'0'.repeat(400)}1e400`,
      `1${'0'.repeat(400)}e-400`,
    ])
      same(t);
  });
});

describe('PointIndexBytes', () => {
  it('finds ids by their bytes and integer ids by value, as a Map of the ids would', () => {
    const map = new Map(IDS.map((id, i) => [id, i]));
    for (const id of [...IDS, 'P0003', 'P000', 'P00011', 'road-7', 'x']) {
      const bytes = Buffer.from(`..${id}..`);
      expect(POINTS.lookupBytes(bytes, 2, bytes.length - 2), id).toBe(map.get(id) ?? -1);
      expect(POINTS.indexOf(id)).toBe(map.get(id));
    }
    for (const v of [0, 7, 12, 13, 9007199254740991, 1, 70]) expect(POINTS.lookupSafeInteger(v), String(v)).toBe(map.get(String(v)) ?? -1);
  });

  it('keeps the last index of a repeated id, and holds many ids', () => {
    const p = new PointIndexBytes([['a', 1], ['a', 2], ['5', 3], ['5', 4]]);
    expect(p.lookupBytes(Buffer.from('a'), 0, 1)).toBe(2);
    expect(p.lookupSafeInteger(5)).toBe(4);
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? String(i * 7919) : `P${i}`));
    const big = PointIndexBytes.fromIds(ids);
    ids.forEach((id, i) => {
      const bytes = Buffer.from(id);
      expect(big.lookupBytes(bytes, 0, bytes.length)).toBe(i);
      if (i % 2 === 0) expect(big.lookupSafeInteger(i * 7919)).toBe(i);
    });
    expect(big.lookupSafeInteger(1)).toBe(-1);
    expect(() => new PointIndexBytes([['a', -1]])).toThrow(RangeError);
  });
});
