import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ErrorCodes, exitCodeFor } from '../../src/errors.js';
import { curvatureOf } from '../../src/model/features.js';
import { loadRoadPoints, parseRoadPoints, REQUIRED_COLUMNS } from '../../src/road/points.js';

const HEADER = 'point_id,nearest_weather_station,road_shape,allowed_speed';

/** Runs `fn`, expects a ConfigError, returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.code).toBe(ErrorCodes.CONFIG);
    expect(exitCodeFor(err)).toBe(2);
    // One line: CLI prints it as is.
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseRoadPoints: a valid table', () => {
  it('keeps row order as the dense index and maps every column', () => {
    const t = parseRoadPoints(`${HEADER}\np1,s1,curve,90\np2,s2,straight,\np0,s1,sharp_curve,50.5\n`, 'points.csv');
    expect(t.points.map((p) => [p.index, p.pointId])).toEqual([
      [0, 'p1'],
      [1, 'p2'],
      [2, 'p0'],
    ]);
    expect(t.points[0]).toEqual({
      index: 0,
      pointId: 'p1',
      station: 's1',
      roadShape: 'curve',
      allowedSpeedKmh: 90,
      extra: {},
    });
    // Empty allowed_speed → null (no limit known), not 0.
    expect(t.points[1].allowedSpeedKmh).toBeNull();
    expect(t.points[2].allowedSpeedKmh).toBe(50.5);
    expect(t.indexOf('p0')).toBe(2);
    expect(t.indexOf('p1')).toBe(0);
    expect(t.indexOf('nope')).toBeUndefined();
    expect(t.byIndex(1).pointId).toBe('p2');
  });

  it('accepts the required columns in any order and keeps extra columns as strings', () => {
    const t = parseRoadPoints(
      'allowed_speed,lanes,point_id,road_shape,nearest_weather_station,region\n120,3,A4-1,straight,KRK,"Małopolska, south"\n',
      'p.csv',
    );
    const p = t.byIndex(0);
    expect(p.pointId).toBe('A4-1');
    expect(p.station).toBe('KRK');
    expect(p.allowedSpeedKmh).toBe(120);
    // "3" stays a string: extra columns are passed through, never interpreted.
    expect(p.extra).toEqual({ lanes: '3', region: 'Małopolska, south' });
  });

  it('trims cells, skips empty lines and a BOM', () => {
    const t = parseRoadPoints(`\uFEFF${HEADER}\n\n p1 , s1 , curve , 90 \n\n`, 'p.csv');
    expect(t.points).toHaveLength(1);
    expect(t.points[0]).toMatchObject({ pointId: 'p1', station: 's1', roadShape: 'curve', allowedSpeedKmh: 90 });
  });

  it('allows an empty road_shape (the features treat unknown shapes as 0)', () => {
    expect(parseRoadPoints(`${HEADER}\np1,s1,,80\n`, 'p.csv').points[0].roadShape).toBe('');
  });

  it('accepts the allowed-speed bounds: just above 0 and exactly 400 km/h', () => {
    const t = parseRoadPoints(`${HEADER}\na,s,curve,0.5\nb,s,curve,400\nc,s,curve,1e2\n`, 'p.csv');
    expect(t.points.map((p) => p.allowedSpeedKmh)).toEqual([0.5, 400, 100]);
  });

  it("accepts road_shape words, a curvature index (the seed's 0.5, 0.4, 1.1) and an empty cell; the raw value is kept", () => {
    const t = parseRoadPoints(`${HEADER}\na,s,straight,\nb,s,Sharp curve,\nc,s,0.5,\nd,s,1.1,\ne,s,,\nf,s,10,\n`, 'p.csv');
    expect(t.points.map((p) => p.roadShape)).toEqual(['straight', 'Sharp curve', '0.5', '1.1', '', '10']);
    expect(t.points.map((p) => curvatureOf(p.roadShape))).toEqual([0, 2, 0.5, 1.1, 0, 10]);
  });

  it.each([['roundabout'], ['-1'], ['10.5'], ['1e1'], ['0x2'], ['NaN'], ['__proto__']])('refuses road_shape %j at start, naming the allowed values', (shape) => {
    let error: unknown;
    try {
      parseRoadPoints(`${HEADER}\na,s,${shape},90\n`, 'p.csv');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`line 2, column 3 (road_shape): unknown road_shape "${shape}"; fix: use straight, curve, sharp_curve, junction, bridge, a curvature index`);
  });

  it('a column named __proto__ is a plain extra key, not a prototype', () => {
    const p = parseRoadPoints(`${HEADER},__proto__\np1,s1,curve,90,x\n`, 'p.csv').points[0];
    expect(Object.keys(p.extra)).toEqual(['__proto__']);
    expect(p.extra['__proto__']).toBe('x');
    expect(Object.getPrototypeOf(p.extra)).toBe(Object.prototype);
  });

  it('returns frozen points, extras and list', () => {
    const t = parseRoadPoints(`${HEADER},lanes\np1,s1,curve,90,2\n`, 'p.csv');
    expect(Object.isFrozen(t.points)).toBe(true);
    expect(Object.isFrozen(t.points[0])).toBe(true);
    expect(Object.isFrozen(t.points[0].extra)).toBe(true);
  });

  it('byIndex outside 0..n-1 is a RangeError (a caller bug, not a config error)', () => {
    const t = parseRoadPoints(`${HEADER}\np1,s1,curve,90\n`, 'p.csv');
    expect(() => t.byIndex(1)).toThrow(RangeError);
    expect(() => t.byIndex(-1)).toThrow(RangeError);
    expect(() => t.byIndex(0.5)).toThrow('road point index 0.5 outside 0..0');
  });
});

describe('parseRoadPoints: allowed_speed errors name the file, line and column', () => {
  const cases: Array<[string, string]> = [
    [
      'abc',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed must be a number of km/h (got "abc"); fix: write a plain number like 90, or leave the cell empty if unknown',
    ],
    [
      '0x10',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed must be a number of km/h (got "0x10"); fix: write a plain number like 90, or leave the cell empty if unknown',
    ],
    [
      '-5',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed must not be negative (got "-5"); fix: write the limit in km/h, or leave the cell empty if unknown',
    ],
    [
      '0',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed must be above 0 (got "0"); fix: leave the cell empty if the limit is unknown',
    ],
    [
      '400.5',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed must be at most 400 km/h (got "400.5"); fix: write the limit in km/h',
    ],
    [
      '1e999',
      '--points p.csv: line 3, column 4 (allowed_speed): allowed_speed is not finite (got "1e999"); fix: write a plain number like 90',
    ],
  ];
  for (const [cell, message] of cases) {
    it(`${JSON.stringify(cell)}`, () => {
      const err = configError(() => parseRoadPoints(`${HEADER}\np1,s1,curve,90\np2,s1,curve,${cell}\n`, 'p.csv'));
      expect(err.field).toBe('--points');
      expect(err.message).toBe(message);
    });
  }

  it('the line number counts skipped empty lines (it is the line in the file)', () => {
    const err = configError(() => parseRoadPoints(`${HEADER}\n\np1,s1,curve,90\n\n\np2,s1,curve,fast\n`, 'p.csv'));
    expect(err.message).toContain('p.csv: line 6, column 4 (allowed_speed)');
  });

  it('the column number follows the header order', () => {
    const err = configError(() =>
      parseRoadPoints('allowed_speed,point_id,road_shape,nearest_weather_station\nfast,p1,curve,s1\n', 'p.csv'),
    );
    expect(err.message).toContain('line 2, column 1 (allowed_speed)');
  });
});

describe('parseRoadPoints: table errors', () => {
  const cases: Array<[string, string, string]> = [
    ['empty text', '', '--points p.csv: is empty; fix: the first line must be the header point_id,nearest_weather_station,road_shape,allowed_speed (extra columns allowed), then one row per point'],
    ['only whitespace and a BOM', '\uFEFF \n\n', '--points p.csv: is empty; fix: the first line must be the header point_id,nearest_weather_station,road_shape,allowed_speed (extra columns allowed), then one row per point'],
    [
      'header only',
      `${HEADER}\n`,
      '--points p.csv: has a header but no road points; fix: add one row per measuring point',
    ],
    [
      'one missing column',
      'point_id,nearest_weather_station,road_shape\np1,s1,curve\n',
      '--points p.csv: missing required column allowed_speed; fix: the first line must be the header point_id,nearest_weather_station,road_shape,allowed_speed (extra columns allowed)',
    ],
    [
      'no header at all (data in the first line)',
      'p1,s1,curve,90\np2,s1,curve,90\n',
      '--points p.csv: missing required columns point_id, nearest_weather_station, road_shape, allowed_speed; fix: the first line must be the header point_id,nearest_weather_station,road_shape,allowed_speed (extra columns allowed)',
    ],
    [
      'duplicate point_id',
      `${HEADER}\np1,s1,curve,90\np2,s1,curve,90\np1,s2,straight,50\n`,
      '--points p.csv: line 4, column 1 (point_id): duplicate point_id "p1" (first on row 1 of the table); fix: keep one row per point',
    ],
    [
      'empty point_id',
      `${HEADER}\n,s1,curve,90\n`,
      '--points p.csv: line 2, column 1 (point_id): empty point id; fix: give every row a point_id',
    ],
    [
      'empty station',
      `${HEADER}\np1,,curve,90\n`,
      "--points p.csv: line 2, column 2 (nearest_weather_station): empty station; fix: name the point's nearest weather station",
    ],
    [
      'duplicate column',
      `${HEADER},road_shape\np1,s1,curve,90,x\n`,
      '--points p.csv: line 1: duplicate column "road_shape"; fix: keep one column of that name',
    ],
    [
      'empty column name',
      `${HEADER},\np1,s1,curve,90,x\n`,
      '--points p.csv: line 1, column 5: empty column name; fix: name every column of the header',
    ],
    [
      'reserved extra column',
      `${HEADER},station\np1,s1,curve,90,x\n`,
      "--points p.csv: line 1: column \"station\" is reserved (the output's road.station); fix: rename that column",
    ],
    [
      'a row with too many cells',
      `${HEADER}\np1,s1,curve,90,extra\n`,
      '--points p.csv: is not valid CSV: Invalid Record Length: expect 4, got 5 on line 2; fix: give every row as many cells as the header and close every quote',
    ],
    [
      'an unclosed quote',
      `${HEADER}\n"p1,s1,curve,90\n`,
      '--points p.csv: is not valid CSV: Quote Not Closed: the parsing is finished with an opening quote at line 2; fix: give every row as many cells as the header and close every quote',
    ],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      const err = configError(() => parseRoadPoints(text, 'p.csv'));
      expect(err.field).toBe('--points');
      expect(err.message).toBe(message);
    });
  }

  it('the field name is the caller’s', () => {
    expect(configError(() => parseRoadPoints('', 'x.csv', 'roadPoints')).message).toMatch(/^roadPoints x\.csv: is empty/);
  });

  it('REQUIRED_COLUMNS is the documented header', () => {
    expect(REQUIRED_COLUMNS.join(',')).toBe(HEADER);
  });
});

describe('loadRoadPoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saferoads-points-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in errors', () => {
    const path = join(dir, 'ok.csv');
    writeFileSync(path, `${HEADER},lanes\np1,s1,curve,90,2\np2,s2,straight,130,3\n`);
    const t = loadRoadPoints(path);
    expect(t.points.map((p) => p.pointId)).toEqual(['p1', 'p2']);
    expect(t.byIndex(1).extra).toEqual({ lanes: '3' });

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `${HEADER}\np1,s1,curve,-1\n`);
    expect(configError(() => loadRoadPoints(bad)).message).toBe(
      `--points ${bad}: line 2, column 4 (allowed_speed): allowed_speed must not be negative (got "-1"); fix: write the limit in km/h, or leave the cell empty if unknown`,
    );
  });

  it('an empty file', () => {
    const path = join(dir, 'empty.csv');
    writeFileSync(path, '');
    expect(configError(() => loadRoadPoints(path)).message).toMatch(new RegExp(`^--points ${path}: is empty; fix: `));
  });

  it('a missing file: one line naming the field, the path, the errno code and the fix', () => {
    const path = join(dir, 'missing.csv');
    const err = configError(() => loadRoadPoints(path, '--road-points'));
    expect(err.field).toBe('--road-points');
    expect(err.message).toBe(
      `--road-points cannot read ${path} (ENOENT); fix: give the path of a readable road-points CSV file`,
    );
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('a directory instead of a file', () => {
    expect(configError(() => loadRoadPoints(dir)).message).toBe(
      `--points cannot read ${dir} (EISDIR); fix: give the path of a readable road-points CSV file`,
    );
  });

  it('the example table shipped in examples/ loads: words, curvature indexes, an unknown shape and limit', () => {
    const t = loadRoadPoints(fileURLToPath(new URL('../../examples/road-points.csv', import.meta.url)));
    expect(t.points.map((p) => p.pointId)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(t.points.map((p) => curvatureOf(p.roadShape))).toEqual([0, 0.4, 1, 1.1, 2, 0, 0, 0]);
    expect(t.points[7].allowedSpeedKmh).toBeNull();
    expect(t.points[0].extra).toEqual({ road: 'A2', direction: 'east' });
  });
});
