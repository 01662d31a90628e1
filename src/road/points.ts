import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../errors.js';
import type { RoadPoint } from '../join/types.js';
import { MAX_SPEED_KMH } from '../kernel/contract.js';
import { parseRoadShape, ROAD_SHAPE_HELP } from './shape.js';

/**
 * The road-points table: one row per measuring point, CSV with the header
 * `point_id,nearest_weather_station,road_shape,allowed_speed` (any order) plus any extra columns,
 * which travel to the output unchanged as strings.
 *
 * The row order is the kernel's point index (0..n-1), so the same file must give the same indices on
 * every start: nothing here sorts or reorders.
 *
 * Cell rules (values are trimmed: spreadsheets love trailing spaces):
 * - point_id: non-empty, unique (a duplicate would make two kernel points share one Kafka key).
 * - nearest_weather_station: non-empty (the weather join needs a station to look up).
 * - road_shape: a word (straight, curve, sharp_curve), a curvature index number, or empty
 *   (road/shape.ts); anything else is refused. The raw value is published as is.
 * - allowed_speed: empty → null (no limit known: over-limit statistics are null, not guessed);
 *   otherwise a plain decimal number of km/h with 0 < v <= MAX_SPEED_KMH (the kernel's speed bound).
 *   0 is refused: it would count every vehicle as speeding; leave the cell empty when unknown.
 */
export interface RoadPointTable {
  /** Every point in file order; `points[i].index === i`. */
  readonly points: readonly RoadPoint[];
  /** Dense index of a point id, undefined for an id not in the table. */
  indexOf(pointId: string): number | undefined;
  /** The point with dense index `i`; a RangeError for an index outside 0..n-1 (a caller bug). */
  byIndex(i: number): RoadPoint;
}

/** Columns every road-points CSV must have. */
export const REQUIRED_COLUMNS = Object.freeze([
  'point_id',
  'nearest_weather_station',
  'road_shape',
  'allowed_speed',
] as const);

/**
 * Extra column names that would collide with a key the output's `road` object already has
 * (`road: { station, road_shape, allowed_speed, ...extra }`). `road_shape`/`allowed_speed` are
 * required columns, so a second one is already a duplicate header; `station` is the only other one.
 */
const RESERVED_EXTRA = new Set(['station']);

/** A plain decimal number: `90`, `90.5`, `.5`, `1e2`; no hex, no `Infinity`, no thousands separators. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const HEADER_FIX = `the first line must be the header ${REQUIRED_COLUMNS.join(',')} (extra columns allowed)`;

/** Reads and parses the road-points CSV at `path`; every problem is a ConfigError naming `field`. */
export function loadRoadPoints(path: string, field = '--points'): RoadPointTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      field,
      `cannot read ${path} (${code}); fix: give the path of a readable road-points CSV file`,
      { cause: e },
    );
  }
  return parseRoadPoints(text, path, field);
}

/** Parses road-points CSV text; `source` names it (the file path) in error messages. */
export function parseRoadPoints(text: string, source: string, field = '--points'): RoadPointTable {
  // Explicitly typed so TypeScript's control flow knows a call never returns.
  const fail: (message: string, cause?: unknown) => never = (message, cause) => {
    throw new ConfigError(field, `${source}: ${message}`, cause === undefined ? undefined : { cause });
  };
  // A file of only whitespace/BOM is "empty" whatever csv-parse would make of it.
  if (text.replace(/^\uFEFF/, '').trim() === '') fail(`is empty; fix: ${HEADER_FIX}, then one row per point`);

  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, { bom: true, info: true, skip_empty_lines: true, trim: true }) as unknown as typeof rows;
  } catch (e) {
    // csv-parse messages are one line and carry the line number ("... on line 3").
    fail(`is not valid CSV: ${oneLine((e as Error).message)}; fix: give every row as many cells as the header and close every quote`, e);
  }

  const header = rows[0].record;
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (name === '') fail(`line 1, column ${i + 1}: empty column name; fix: name every column of the header`);
    if (seen.has(name)) fail(`line 1: duplicate column ${JSON.stringify(name)}; fix: keep one column of that name`);
    if (RESERVED_EXTRA.has(name)) {
      fail(`line 1: column ${JSON.stringify(name)} is reserved (the output's road.station); fix: rename that column`);
    }
    seen.add(name);
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !seen.has(c));
  if (missing.length > 0) {
    fail(`missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; fix: ${HEADER_FIX}`);
  }
  if (rows.length === 1) fail(`has a header but no road points; fix: add one row per measuring point`);

  const col = (name: string) => header.indexOf(name);
  const iId = col('point_id');
  const iStation = col('nearest_weather_station');
  const iShape = col('road_shape');
  const iSpeed = col('allowed_speed');
  const extraCols = header
    .map((name, i) => [name, i] as const)
    .filter(([name]) => !(REQUIRED_COLUMNS as readonly string[]).includes(name));

  const points: RoadPoint[] = [];
  const byId = new Map<string, number>();
  for (let r = 1; r < rows.length; r++) {
    const { record, info } = rows[r];
    const at = (i: number) => `line ${info.lines}, column ${i + 1} (${header[i]})`;
    const pointId = record[iId];
    if (pointId === '') fail(`${at(iId)}: empty point id; fix: give every row a point_id`);
    const first = byId.get(pointId);
    if (first !== undefined) {
      fail(`${at(iId)}: duplicate point_id ${JSON.stringify(pointId)} (first on row ${first + 1} of the table); fix: keep one row per point`);
    }
    const station = record[iStation];
    if (station === '') fail(`${at(iStation)}: empty station; fix: name the point's nearest weather station`);
    const allowedSpeedKmh = parseAllowedSpeed(record[iSpeed], (m) => fail(`${at(iSpeed)}: ${m}`));
    if (parseRoadShape(record[iShape]) === undefined) {
      fail(`${at(iShape)}: unknown road_shape ${JSON.stringify(record[iShape])}; fix: use ${ROAD_SHAPE_HELP}`);
    }
    const index = points.length;
    points.push(
      Object.freeze({
        index,
        pointId,
        station,
        roadShape: record[iShape],
        allowedSpeedKmh,
        // fromEntries defines own properties, so a column called "__proto__" stays a plain key.
        extra: Object.freeze(Object.fromEntries(extraCols.map(([name, i]) => [name, record[i]]))),
      }),
    );
    byId.set(pointId, index);
  }

  const frozen = Object.freeze(points);
  return Object.freeze({
    points: frozen,
    indexOf: (pointId: string) => byId.get(pointId),
    byIndex(i: number): RoadPoint {
      const p = frozen[i];
      if (p === undefined || !Number.isInteger(i)) {
        throw new RangeError(`road point index ${i} outside 0..${frozen.length - 1}`);
      }
      return p;
    },
  });
}

function parseAllowedSpeed(cell: string, fail: (message: string) => never): number | null {
  if (cell === '') return null;
  const got = `(got ${JSON.stringify(cell)})`;
  if (!DECIMAL.test(cell)) {
    fail(`allowed_speed must be a number of km/h ${got}; fix: write a plain number like 90, or leave the cell empty if unknown`);
  }
  const v = Number(cell);
  if (!Number.isFinite(v)) fail(`allowed_speed is not finite ${got}; fix: write a plain number like 90`);
  if (v < 0) fail(`allowed_speed must not be negative ${got}; fix: write the limit in km/h, or leave the cell empty if unknown`);
  if (v === 0) fail(`allowed_speed must be above 0 ${got}; fix: leave the cell empty if the limit is unknown`);
  if (v > MAX_SPEED_KMH) {
    fail(`allowed_speed must be at most ${MAX_SPEED_KMH} km/h ${got}; fix: write the limit in km/h`);
  }
  return v;
}

/** ConfigError messages are one line; a library message could carry newlines. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
