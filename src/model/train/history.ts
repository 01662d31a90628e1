/**
 * History → the rows the live service would emit, with the model's features: the batch mode of
 * the service's own parts. Loop events (seed-JSON NDJSON, optionally gzipped) are decoded by the
 * service's decoder (EventColumnsBuilder), windowed by the WASM kernel with the service's window
 * spec, joined with the latest weather reading at or before each window end (as a shard does,
 * writeRowWeather), the road point and the calendar, and turned into features by the record
 * builder's own `featuresInto` — the numbers the live score is computed from, not a second
 * implementation.
 *
 * Time: history has no wall clock, so the stream watermark is driven from the data, as the service's
 * host drives it (externalWatermark): events are put in event-time order and fed in chunks of at
 * most CHUNK_SPAN_S seconds of event time, W trailing the chunk's first event by the grace period.
 * Each window end T is emitted once W passes it, with every event at or before T counted — the rows
 * a live service emits for the same input arriving in order. At the end W moves to the last event:
 * the last window end is the last whole minute of data.
 *
 * Bad lines are not fatal: they are counted and the first few reported with their line numbers (a
 * history export often has a few); events the kernel refuses are counted by reason.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { EventColumnsBuilder, DECODE_OK } from '../../codec/seed-json.js';
import { REASON_NAMES, ROW_F64, ROW_LONG, ROW_POINT, ROW_SHORT, ROW_WINDOW_END, WINDOW_STAT_FIELDS } from '../../kernel/contract.js';
import { WasmKernel, type KernelOutputSink } from '../../kernel/wasm-kernel.js';
import type { WindowSpec } from '../../kernel/window-spec.js';
import type { CalendarResolver } from '../../join/calendar.js';
import { RiskRecordBuilder, writeRowWeather } from '../../pipeline/output.js';
import { OUT_ROW_F64, OUT_ROW_WEATHER } from '../../pipeline/shard-protocol.js';
import type { RoadPointTable } from '../../road/points.js';
import { decodeWeather } from '../../weather/decode.js';
import { WeatherHistory } from '../../weather/history.js';
import type { WeatherReading } from '../../join/types.js';
import { RISK_FEATURE_NAMES } from '../features.js';
import type { RiskModel } from '../risk-model.js';

/** Largest span of event time fed to the kernel at once: well inside its ring of panes. */
const CHUNK_SPAN_S = 30;
/** Bad lines listed by number (the rest are only counted). */
export const BAD_LINES_LISTED = 5;

/** Window statistics kept per row besides the features (for baselines and reports). */
export const ROW_EXTRAS = ['short_mean_speed_kmh', 'long_mean_speed_kmh', 'short_count', 'long_speed_std_kmh'] as const;
export type RowExtra = (typeof ROW_EXTRAS)[number];
const S_MEAN_SPEED = WINDOW_STAT_FIELDS.indexOf('meanSpeedKmh');
const S_COUNT = WINDOW_STAT_FIELDS.indexOf('count');
const S_SPEED_STD = WINDOW_STAT_FIELDS.indexOf('speedStdKmh');

/** Rows of the history, column-wise: `count` rows, features in RISK_FEATURE_INDEX layout. */
export interface HistoryRows {
  count: number;
  /** Dense point index (RoadPointTable) per row. */
  point: Int32Array;
  windowEnd: Float64Array;
  /** count × RISK_FEATURE_NAMES.length. */
  features: Float64Array;
  /** count × ROW_EXTRAS.length (NaN where the window is empty). */
  extras: Float64Array;
  /** 1 when both windows are plausible (risk.reliable). */
  reliable: Uint8Array;
  /** First and last event time read. */
  firstEventS: number;
  lastEventS: number;
  events: number;
  /** Events outside fromS..toS (not used). */
  outside: number;
  /** Events the kernel refused, by reason name (LATE, …). */
  refused: Record<string, number>;
  badLines: { events: BadLines; weather: BadLines };
}

export interface BadLines {
  count: number;
  first: { line: number; detail: string }[];
}

/** Where history lines come from: a file, or a topic (topic-source.ts). */
export interface HistorySource {
  /** For messages: the file path or `topic T at B`. */
  readonly name: string;
  /** The records: one JSON document each (a line of NDJSON, a record value). */
  lines(): AsyncIterable<string | Buffer>;
}

/** An NDJSON file (gunzipped when its name ends in .gz). */
export function fileSource(path: string): HistorySource {
  return { name: path, lines: () => readLines(path) };
}

export interface HistoryOptions {
  events: HistorySource;
  weather?: HistorySource;
  /** Only events with fromS <= event time < toS (weather readings are all kept: the join looks back). */
  fromS?: number;
  toS?: number;
  points: RoadPointTable;
  spec: WindowSpec;
  calendar: CalendarResolver;
  /** Any valid model: the builder needs one; only its features are read here. */
  model: RiskModel;
  /** Progress lines (e.g. stderr). */
  log?: (line: string) => void;
}

/** Lines of a text file, gunzipped when the name ends in .gz. */
export function readLines(path: string): AsyncIterable<string> {
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => input.emit('error', e));
  return createInterface({ input, crlfDelay: Infinity });
}

/** Weather readings of a source, in timestamp order. */
export async function readWeather(source: HistorySource, bad: BadLines): Promise<WeatherReading[]> {
  const readings: WeatherReading[] = [];
  let line = 0;
  for await (const text of source.lines()) {
    line++;
    if (isBlank(text)) continue;
    const r = decodeWeather(typeof text === 'string' ? Buffer.from(text) : text);
    if (r.ok) readings.push(r.reading);
    else noteBad(bad, line, `${r.reason}: ${r.detail}`);
  }
  readings.sort((a, b) => a.timestamp - b.timestamp);
  return readings;
}

function isBlank(text: string | Buffer): boolean {
  return typeof text === 'string' ? text.trim() === '' : text.length === 0 || text.toString().trim() === '';
}

function noteBad(bad: BadLines, line: number, detail: string): void {
  bad.count++;
  if (bad.first.length < BAD_LINES_LISTED) bad.first.push({ line, detail });
}

/** Growable column of numbers. */
class Column<T extends Float64Array | Int32Array | Uint8Array> {
  data: T;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const bigger = this.make(Math.max(n, this.data.length * 2));
    bigger.set(this.data as never);
    this.data = bigger;
  }
}

/** Reads the history and computes every row. */
export async function historyRows(o: HistoryOptions): Promise<HistoryRows> {
  const log = o.log ?? (() => undefined);
  const pointCount = o.points.points.length;
  const indexById = new Map(o.points.points.map((p) => [p.pointId, p.index]));
  const badEvents: BadLines = { count: 0, first: [] };
  const badWeather: BadLines = { count: 0, first: [] };

  // 1. Every event, decoded by the service's decoder into columns.
  const f64Names = ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length'] as const;
  const f64 = f64Names.map(() => new Column((n) => new Float64Array(n)));
  const pointCol = new Column((n) => new Int32Array(n));
  const laneCol = new Column((n) => new Int32Array(n));
  const decoder = new EventColumnsBuilder(1);
  const c = decoder.columns;
  let events = 0;
  let line = 0;
  const fromS = o.fromS ?? -Infinity;
  const toS = o.toS ?? Infinity;
  let outside = 0;
  for await (const text of o.events.lines()) {
    line++;
    if (isBlank(text)) continue;
    decoder.reset();
    const result = decoder.appendJson(typeof text === 'string' ? Buffer.from(text) : text, 0, (id) => indexById.get(id));
    if (result !== DECODE_OK) {
      noteBad(badEvents, line, `${result}: ${decoder.detail}`);
      continue;
    }
    if (!(c.tOut2[0] >= fromS && c.tOut2[0] < toS)) {
      outside++;
      continue;
    }
    const n = events + 1;
    for (const col of f64) col.reserve(n);
    pointCol.reserve(n);
    laneCol.reserve(n);
    f64.forEach((col, k) => (col.data[events] = c[f64Names[k]][0]));
    pointCol.data[events] = c.point[0];
    laneCol.data[events] = c.lane[0];
    events = n;
    if (events % 500_000 === 0) log(`  ${events.toLocaleString('en')} events read`);
  }
  const weather = new WeatherHistory({ maxPerStation: Number.MAX_SAFE_INTEGER });
  if (o.weather !== undefined) for (const r of await readWeather(o.weather, badWeather)) weather.add(r);
  if (outside > 0) log(`  ${outside.toLocaleString('en')} events outside the period left out`);

  // 2. In event-time order (stable: equal times keep file order).
  const tOut2 = f64[3].data;
  const order = new Uint32Array(events);
  for (let i = 0; i < events; i++) order[i] = i;
  order.sort((a, b) => tOut2[a] - tOut2[b] || a - b);

  // 3. Through the kernel, W driven from the data; rows joined and turned into features.
  const kernel = new WasmKernel({
    spec: o.spec,
    pointCapacity: Math.max(pointCount, 1),
    partitions: 1,
    startWallClockS: events > 0 ? tOut2[order[0]] : 0,
    externalWatermark: true,
  });
  for (const p of o.points.points) kernel.setPoint(p.index, p.allowedSpeedKmh);
  const builder = new RiskRecordBuilder(o.spec, o.points, o.calendar, o.model);
  const F = RISK_FEATURE_NAMES.length;
  const X = ROW_EXTRAS.length;
  const rowPoint = new Column((n) => new Int32Array(n));
  const rowEnd = new Column((n) => new Float64Array(n));
  const rowFeatures = new Column((n) => new Float64Array(n));
  const rowExtras = new Column((n) => new Float64Array(n));
  const rowReliable = new Column((n) => new Uint8Array(n));
  const joined = new Float64Array(OUT_ROW_F64);
  const features = new Float64Array(F);
  let rows = 0;
  const refused: Record<string, number> = {};
  const sink: KernelOutputSink = {
    onOutput(slice) {
      for (let r = 0; r < slice.rowCount; r++) {
        const from = r * ROW_F64;
        joined.set(slice.rows.subarray(from, from + ROW_F64));
        const point = joined[ROW_POINT];
        const end = joined[ROW_WINDOW_END];
        writeRowWeather(joined, OUT_ROW_WEATHER, weather.latestAtOrBefore(o.points.byIndex(point).station, end));
        builder.featuresInto(joined, 0, features);
        const n = rows + 1;
        rowPoint.reserve(n);
        rowEnd.reserve(n);
        rowFeatures.reserve(n * F);
        rowExtras.reserve(n * X);
        rowReliable.reserve(n);
        rowPoint.data[rows] = point;
        rowEnd.data[rows] = end;
        rowFeatures.data.set(features, rows * F);
        const e = rows * X;
        rowExtras.data[e] = joined[ROW_SHORT + S_MEAN_SPEED];
        rowExtras.data[e + 1] = joined[ROW_LONG + S_MEAN_SPEED];
        rowExtras.data[e + 2] = joined[ROW_SHORT + S_COUNT];
        rowExtras.data[e + 3] = joined[ROW_LONG + S_SPEED_STD];
        rowReliable.data[rows] = builder.reliable(joined, 0) ? 1 : 0;
        rows = n;
      }
      for (let k = 0; k < slice.rejectionCount; k++) {
        const name = REASON_NAMES[slice.rejections[2 * k + 1]] ?? String(slice.rejections[2 * k + 1]);
        refused[name] = (refused[name] ?? 0) + 1;
      }
    },
  };
  const grace = o.spec.graceS;
  const chunk = new EventColumnsBuilder(65_536);
  const cc = chunk.columns;
  for (let start = 0; start < events; ) {
    const first = tOut2[order[start]];
    chunk.reset();
    let end = start;
    while (end < events && cc.count < chunk.capacity && tOut2[order[end]] - first <= CHUNK_SPAN_S) {
      const i = order[end];
      const k = cc.count;
      cc.tIn1[k] = f64[0].data[i];
      cc.tOut1[k] = f64[1].data[i];
      cc.tIn2[k] = f64[2].data[i];
      cc.tOut2[k] = f64[3].data[i];
      cc.speed[k] = f64[4].data[i];
      cc.gapM[k] = f64[5].data[i];
      cc.gapS[k] = f64[6].data[i];
      cc.length[k] = f64[7].data[i];
      cc.point[k] = pointCol.data[i];
      cc.lane[k] = laneCol.data[i];
      cc.partition[k] = 0;
      cc.count = k + 1;
      end++;
    }
    // W trails the chunk's first event by the grace period: no event of the chunk is late.
    kernel.advanceWatermarkInto(first - grace, sink);
    kernel.ingestColumns(cc, tOut2[order[end - 1]] + 1, sink);
    start = end;
  }
  if (events > 0) kernel.advanceWatermarkInto(tOut2[order[events - 1]], sink);
  log(`  ${events.toLocaleString('en')} events → ${rows.toLocaleString('en')} rows (${pointCount} points)`);
  return {
    count: rows,
    point: rowPoint.data.slice(0, rows),
    windowEnd: rowEnd.data.slice(0, rows),
    features: rowFeatures.data.slice(0, rows * F),
    extras: rowExtras.data.slice(0, rows * X),
    reliable: rowReliable.data.slice(0, rows),
    firstEventS: events > 0 ? tOut2[order[0]] : NaN,
    lastEventS: events > 0 ? tOut2[order[events - 1]] : NaN,
    events,
    outside,
    refused,
    badLines: { events: badEvents, weather: badWeather },
  };
}
