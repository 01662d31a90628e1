import { ROW_LONG, ROW_POINT, ROW_SHORT, ROW_WINDOW_END, WINDOW_STAT_FIELDS, type WindowStatField, type WindowStats } from '../kernel/contract.js';
import type { WindowSpec } from '../kernel/window-spec.js';
import type { CalendarResolver } from '../join/calendar.js';
import type { PublishedRisk, PublishedWindowStats, RiskRecord, RoadPoint, WeatherReading, WindowQuality } from '../join/types.js';
import { linearTerms, riskModel, riskModelJson, scoreLinearInto, type LinearTerms, type RiskModel, type RiskModelJson } from '../model/risk-model.js';
import { ModelSchedule, type ScheduleEntry } from '../model/model-schedule.js';
import { DEFAULT_RISK_LEVELS, riskLevel, type RiskLevels } from '../model/risk-levels.js';
import { curvatureOf, RISK_FEATURE_NAMES, riskFeatures, riskFeaturesInto } from '../model/features.js';
import type { RoadPointTable } from '../road/points.js';
import { MAX_PLAUSIBLE_FLOW_VPH_PER_LANE, MAX_PLAUSIBLE_OCCUPANCY, PlausibilityFlag, windowQuality } from './plausibility.js';
import { OUT_ROW_F64, OUT_ROW_WEATHER, SHADOW_AGREES, SHADOW_DIFFERS, SHADOW_NONE, type ShardJoin } from './shard-protocol.js';

/** Kernel stat name → the published (snake_case) name: the output contract, spelled out. */
export const PUBLISHED_NAMES: Readonly<Record<WindowStatField, keyof PublishedWindowStats>> = Object.freeze({
  count: 'count',
  flowVph: 'flow_vph',
  meanSpeedKmh: 'mean_speed_kmh',
  speedStdKmh: 'speed_std_kmh',
  v85Kmh: 'v85_kmh',
  meanGapM: 'mean_gap_m',
  minGapM: 'min_gap_m',
  meanGapS: 'mean_gap_s',
  minGapS: 'min_gap_s',
  headwayLt1sShare: 'headway_lt_1s_share',
  headwayLt2sShare: 'headway_lt_2s_share',
  meanLengthM: 'mean_length_m',
  longVehicleShare: 'long_vehicle_share',
  occupancy: 'occupancy',
  overLimitShare: 'over_limit_share',
  laneSpeedSpreadKmh: 'lane_speed_spread_kmh',
  lanes: 'lanes',
});

function statsAt(rows: Float64Array, at: number): WindowStats {
  const s = {} as Record<string, number | null>;
  for (let k = 0; k < WINDOW_STAT_FIELDS.length; k++) {
    const v = rows[at + k];
    s[WINDOW_STAT_FIELDS[k]] = Number.isNaN(v) ? null : v;
  }
  return s as WindowStats;
}

function publish(stats: WindowStats, start: number, end: number, quality: WindowQuality): PublishedWindowStats {
  const out: Record<string, unknown> = { start, end };
  for (const f of WINDOW_STAT_FIELDS) out[PUBLISHED_NAMES[f]] = stats[f];
  out.quality = quality;
  return out as unknown as PublishedWindowStats;
}

function weatherAt(rows: Float64Array, at: number, station: string): WeatherReading | null {
  if (rows[at] !== 1) return null;
  const nullable = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    station,
    timestamp: rows[at + 1],
    temp: rows[at + 2],
    snow: rows[at + 3],
    rain: rows[at + 4],
    pressure: rows[at + 5],
    wind: nullable(rows[at + 6]),
    visibility: nullable(rows[at + 7]),
  };
}

function roadOf(p: RoadPoint): RiskRecord['road'] {
  return { station: p.station, road_shape: p.roadShape, allowed_speed: p.allowedSpeedKmh, ...p.extra };
}

/**
 * The final join: a shard row (kernel stats + the weather the shard attached) with the road point,
 * the calendar of its window, and the risk model's score → the published record. Each window gets
 * its plausibility (`quality`, src/pipeline/plausibility.ts); a flag in either window makes
 * `risk.reliable` false. The score is kept rather than nulled: the record stays one shape for every
 * consumer, the contributions show what an implausible window did to it, and the features keep it
 * from saturating (occupancy is capped at 1).
 */
export class RiskRecordBuilder {
  /**
   * `risk.reliable` of the record the last `serialize` call wrote (the shard's report needs it
   * without parsing the JSON back).
   */
  lastReliable = false;
  /**
   * The shadow comparison of the record the last `serialize` call wrote: SHADOW_NONE (no shadow
   * model), SHADOW_AGREES (both scores in the same --risk-levels band) or SHADOW_DIFFERS.
   */
  lastShadow = SHADOW_NONE;

  /** Which model scores which window end (one model: one entry). */
  private schedule: ModelSchedule<RiskModel>;
  /** Per model of the schedule: its serialize form; null: not riskModel's (build + stringify). */
  private prepared = new Map<RiskModel, PreparedModel | null>();
  /** The models of the window end last serialized (undefined: one is not linear, serialize falls back). */
  private active: PreparedModel | undefined;
  private shadow: PreparedModel | null | undefined = null;
  /** Scratch of serialize: the features (RISK_FEATURE_INDEX). */
  private readonly features = new Float64Array(RISK_FEATURE_NAMES.length);
  /** Per point index: the JSON fragments that never change (built on first use). */
  private readonly pointJson: (PointJson | undefined)[] = [];
  /** The window end last serialized and what depends on it alone. */
  private lastEnd = Number.NaN;
  private endHead = '';
  private longHead = '';
  private calendarJson = '';
  private hour = 0;
  private holiday = false;

  constructor(
    private readonly spec: WindowSpec,
    private readonly points: Pick<RoadPointTable, 'byIndex'>,
    private readonly calendar: CalendarResolver,
    /** One model for every window end, or a schedule of models by window end (model-schedule.ts). */
    models: RiskModel | ModelSchedule<RiskModel>,
    /** The bands whose disagreement `lastShadow` reports. */
    private readonly levels: RiskLevels = DEFAULT_RISK_LEVELS,
  ) {
    this.schedule = models instanceof ModelSchedule ? models : new ModelSchedule(models);
  }

  /** Scores by `schedule` from now on (a model changed): rows are scored by the entry of their window end. */
  useSchedule(schedule: ModelSchedule<RiskModel>): void {
    this.schedule = schedule;
    const kept = new Map<RiskModel, PreparedModel | null>();
    for (const e of schedule.list) {
      for (const m of [e.active, e.shadow]) if (m !== null && this.prepared.has(m)) kept.set(m, this.prepared.get(m)!);
    }
    this.prepared = kept;
    // The per-end cache holds the models of the last end: the next row picks them again.
    this.lastEnd = Number.NaN;
  }

  private prepare(model: RiskModel): PreparedModel | undefined {
    let p = this.prepared.get(model);
    if (p === undefined) {
      const terms = linearTerms(model);
      p =
        terms === undefined
          ? null
          : {
              terms,
              contributionKeys: terms.names.map((name, j) => `${j === 0 ? '' : ','}${JSON.stringify(name)}:`),
              modelTail: `,"model":${JSON.stringify(terms.id)},"contributions":{`,
              contributions: new Float64Array(terms.names.length),
              shadowHead: `,"shadow":{"model":${JSON.stringify(terms.id)},"score":`,
            };
      this.prepared.set(model, p);
    }
    return p ?? undefined;
  }

  /**
   * `JSON.stringify(this.build(rows, row))`, byte for byte, without building the record: constant
   * parts (point id, road, per window end the times and calendar) are cached as JSON text, the rest
   * is written straight from the row. Sets `lastReliable` to the record's `risk.reliable` and
   * `lastShadow` to how its shadow score compares. The models are the schedule's entry of the row's
   * window end.
   */
  serialize(rows: Float64Array, row: number): string {
    const at = row * OUT_ROW_F64;
    const end = rows[at + ROW_WINDOW_END];
    // Throws for a non-finite end (as build does); picks the window end's models.
    if (end !== this.lastEnd) this.endFragments(end);
    const active = this.active;
    const shadow = this.shadow;
    if (active === undefined || shadow === undefined) {
      const record = this.build(rows, row);
      this.lastReliable = record.risk.reliable;
      this.lastShadow = shadowOutcome(record.risk, this.levels);
      return JSON.stringify(record);
    }
    const pj = this.join(rows, at);
    const shortAt = at + ROW_SHORT;
    const longAt = at + ROW_LONG;
    const w = at + OUT_ROW_WEATHER;
    const hasWeather = rows[w] === 1;
    const shortQuality = qualityOf(rows, shortAt);
    const longQuality = qualityOf(rows, longAt);
    const contributions = active.contributions;
    const score = scoreLinearInto(active.terms, this.features, contributions);
    // After the active score, as build scores them (the same error first for a bad feature). The
    // same model as active and shadow shares the contributions scratch: same features, same values.
    const shadowScore = shadow === null ? Number.NaN : scoreLinearInto(shadow.terms, this.features, shadow.contributions);
    const reliable = shortQuality === 0 && longQuality === 0;
    this.lastReliable = reliable;

    // Strings joined with + (ropes): the host copies each value once anyway when it is posted.
    let s = pj.head + this.endHead + statsJson(rows, shortAt) + QUALITY_JSON[shortQuality];
    s += this.longHead + statsJson(rows, longAt) + QUALITY_JSON[longQuality] + pj.road;
    s += hasWeather ? weatherJson(pj.weather, rows, w, end) : 'null';
    s += this.calendarJson + num(score) + (reliable ? ',"reliable":true' : ',"reliable":false') + active.modelTail;
    const keys = active.contributionKeys;
    for (let j = 0; j < keys.length; j++) s += keys[j] + num(contributions[j]);
    if (shadow === null) {
      this.lastShadow = SHADOW_NONE;
      return s + '}}}';
    }
    this.lastShadow = riskLevel(score, this.levels) === riskLevel(shadowScore, this.levels) ? SHADOW_AGREES : SHADOW_DIFFERS;
    return s + '}' + shadow.shadowHead + num(shadowScore) + '}}}';
  }

  /** The record's `risk.reliable` for one row (both windows plausible), without writing the record. */
  reliable(rows: Float64Array, row: number): boolean {
    const at = row * OUT_ROW_F64;
    return qualityOf(rows, at + ROW_SHORT) === 0 && qualityOf(rows, at + ROW_LONG) === 0;
  }

  /**
   * The model's inputs of one row (RISK_FEATURE_INDEX layout, riskFeaturesInto) into `out`: the
   * features serialize scores, for batch work on history (training, backtests) without a record.
   */
  featuresInto(rows: Float64Array, row: number, out: Float64Array): void {
    this.join(rows, row * OUT_ROW_F64);
    out.set(this.features);
  }

  /** The row's point and window end (cached fragments), then its features into this.features. */
  private join(rows: Float64Array, at: number): PointJson {
    const index = rows[at + ROW_POINT];
    const point = this.points.byIndex(index);
    let pj = this.pointJson[index];
    if (pj === undefined || pj.point !== point) pj = this.pointFragments(index, point);
    const end = rows[at + ROW_WINDOW_END];
    if (end !== this.lastEnd) this.endFragments(end);
    const w = at + OUT_ROW_WEATHER;
    riskFeaturesInto(
      this.features,
      rows,
      at + ROW_SHORT,
      at + ROW_LONG,
      pj.allowedSpeedKmh,
      pj.curvature,
      rows[w] === 1,
      rows[w + W_TEMP],
      rows[w + W_SNOW],
      rows[w + W_RAIN],
      rows[w + W_VISIBILITY],
      this.hour,
      this.holiday,
    );
    return pj;
  }

  private pointFragments(index: number, point: RoadPoint): PointJson {
    const pj: PointJson = {
      point,
      head: `{"point_id":${JSON.stringify(point.pointId)},`,
      road: `},"road":${JSON.stringify(roadOf(point))},"weather":`,
      weather: this.stationWeather(point.station),
      allowedSpeedKmh: point.allowedSpeedKmh ?? Number.NaN,
      curvature: curvatureOf(point.roadShape),
    };
    this.pointJson[index] = pj;
    return pj;
  }

  /** Per station: its weather JSON at the last reading and end written. */
  private readonly stations = new Map<string, StationWeather>();

  private stationWeather(station: string): StationWeather {
    let sw = this.stations.get(station);
    if (sw === undefined) {
      sw = { head: `{"station":${JSON.stringify(station)},"timestamp":`, values: new Float64Array(WEATHER_VALUES + 1).fill(Number.NaN), json: '' };
      this.stations.set(station, sw);
    }
    return sw;
  }

  private endFragments(end: number): void {
    // Throws for a non-finite end (before anything is cached), as build does.
    const calendar = this.calendar.at(end);
    const e = num(end);
    this.endHead = `"window_end":${e},"short":{"start":${num(end - this.spec.shortS)},"end":${e},`;
    this.longHead = `},"long":{"start":${num(end - this.spec.longS)},"end":${e},`;
    this.calendarJson = `,"calendar":${JSON.stringify(calendar)},"risk":{"score":`;
    this.hour = calendar.hour;
    this.holiday = calendar.holiday;
    const models = this.schedule.at(end);
    this.active = this.prepare(models.active);
    this.shadow = models.shadow === null ? null : this.prepare(models.shadow);
    this.lastEnd = end;
  }

  build(rows: Float64Array, row: number): RiskRecord {
    const at = row * OUT_ROW_F64;
    const point = this.points.byIndex(rows[at + ROW_POINT]);
    const end = rows[at + ROW_WINDOW_END];
    const short = statsAt(rows, at + ROW_SHORT);
    const long = statsAt(rows, at + ROW_LONG);
    const weather = weatherAt(rows, at + OUT_ROW_WEATHER, point.station);
    const calendar = this.calendar.at(end);
    const features = riskFeatures({ short, long, road: point, weather, calendar });
    const shortQuality = windowQuality(short);
    const longQuality = windowQuality(long);
    const models = this.schedule.at(end);
    const { score, model, contributions } = models.active.score(features);
    const risk: PublishedRisk = { score, reliable: shortQuality.plausible && longQuality.plausible, model, contributions };
    if (models.shadow !== null) risk.shadow = { model: models.shadow.id, score: models.shadow.score(features).score };
    return {
      point_id: point.pointId,
      window_end: end,
      short: publish(short, end - this.spec.shortS, end, shortQuality),
      long: publish(long, end - this.spec.longS, end, longQuality),
      road: roadOf(point),
      weather:
        weather === null
          ? null
          : {
              station: weather.station,
              timestamp: weather.timestamp,
              age_s: end - weather.timestamp,
              temp: weather.temp,
              snow: weather.snow,
              rain: weather.rain,
              pressure: weather.pressure,
              wind: weather.wind,
              visibility: weather.visibility,
            },
      calendar,
      risk,
    };
  }
}

/** A model as serialize writes it: its terms and the JSON around its contributions and shadow score. */
interface PreparedModel {
  terms: LinearTerms;
  /** `,"name":` of each contribution, in the model's order (the first without the comma). */
  contributionKeys: string[];
  /** `,"model":"id","contributions":{` */
  modelTail: string;
  /** Scratch: the contributions (model order). */
  contributions: Float64Array;
  /** `,"shadow":{"model":"id","score":` */
  shadowHead: string;
}

/** lastShadow of a built record. */
function shadowOutcome(risk: PublishedRisk, levels: RiskLevels): number {
  if (risk.shadow === undefined) return SHADOW_NONE;
  return riskLevel(risk.score, levels) === riskLevel(risk.shadow.score, levels) ? SHADOW_AGREES : SHADOW_DIFFERS;
}

/** The cached JSON of one road point (RiskRecordBuilder.serialize). */
interface PointJson {
  /** The point the fragments were made of (a table that changed under the index is noticed). */
  point: RoadPoint;
  /** `{"point_id":"…",` */
  head: string;
  /** `},"road":{…},"weather":` (closing the long window) */
  road: string;
  /** The point's station (shared by every point of the station). */
  weather: StationWeather;
  /** NaN: none (null). */
  allowedSpeedKmh: number;
  curvature: number;
}

/** The weather block of a shard row (shard-protocol.ts): offsets after WEATHER_PRESENT. */
const W_TIMESTAMP = 1;
const W_TEMP = 2;
const W_SNOW = 3;
const W_RAIN = 4;
const W_PRESSURE = 5;
const W_WIND = 6;
const W_VISIBILITY = 7;

/**
 * The published weather of one station, cached: every point of the station gets the same reading at
 * a window end, so the JSON is written once per station and end.
 */
interface StationWeather {
  /** `{"station":"…","timestamp":` */
  head: string;
  /** The weather block (timestamp … visibility) and the window end `json` was written for. */
  values: Float64Array;
  json: string;
}

/** Values of the weather block after WEATHER_PRESENT (timestamp … visibility). */
const WEATHER_VALUES = 7;

/** Same value or both NaN (0 and −0 count as the same: JSON writes both as 0). */
function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** The `weather` of the record (present) from the block at `w`, from the station's cache when it holds it. */
function weatherJson(sw: StationWeather, rows: Float64Array, w: number, end: number): string {
  const v = sw.values;
  let hit = same(v[WEATHER_VALUES], end);
  for (let k = 0; hit && k < WEATHER_VALUES; k++) hit = same(v[k], rows[w + 1 + k]);
  if (hit) return sw.json;
  const ts = rows[w + W_TIMESTAMP];
  const json =
    sw.head +
    num(ts) +
    ',"age_s":' +
    num(end - ts) +
    ',"temp":' +
    num(rows[w + W_TEMP]) +
    ',"snow":' +
    num(rows[w + W_SNOW]) +
    ',"rain":' +
    num(rows[w + W_RAIN]) +
    ',"pressure":' +
    num(rows[w + W_PRESSURE]) +
    ',"wind":' +
    num(rows[w + W_WIND]) +
    ',"visibility":' +
    num(rows[w + W_VISIBILITY]) +
    '}';
  for (let k = 0; k < WEATHER_VALUES; k++) v[k] = rows[w + 1 + k];
  v[WEATHER_VALUES] = end;
  sw.json = json;
  return json;
}

/** A number as JSON.stringify writes it: finite as String(v) (-0 as 0), NaN and ±Infinity as null. */
function num(v: number): string {
  return v - v === 0 ? '' + v : 'null';
}

/** `,"name":` of each published stat (the first without the comma), WINDOW_STAT_FIELDS order. */
const STAT_KEYS = WINDOW_STAT_FIELDS.map((f, k) => `${k === 0 ? '' : ','}${JSON.stringify(PUBLISHED_NAMES[f])}:`);

/** The published stats of the window at `at`, without braces: `"count":…,…,"lanes":…`. */
function statsJson(rows: Float64Array, at: number): string {
  let s = '';
  for (let k = 0; k < STAT_KEYS.length; k++) s += STAT_KEYS[k] + num(rows[at + k]);
  return s;
}

const S_OCCUPANCY = WINDOW_STAT_FIELDS.indexOf('occupancy');
const S_FLOW = WINDOW_STAT_FIELDS.indexOf('flowVph');
const S_LANES = WINDOW_STAT_FIELDS.indexOf('lanes');
const OCCUPANCY_OVER = 1;
const FLOW_OVER = 2;

/** windowQuality on the raw window (NaN = null) as bits: OCCUPANCY_OVER | FLOW_OVER; 0 plausible. */
function qualityOf(rows: Float64Array, at: number): number {
  const occupancy = rows[at + S_OCCUPANCY];
  const lanes = rows[at + S_LANES];
  // NaN compares false: a null occupancy, flow or lanes never flags, as in windowQuality.
  return (
    (occupancy > MAX_PLAUSIBLE_OCCUPANCY ? OCCUPANCY_OVER : 0) |
    (lanes > 0 && rows[at + S_FLOW] / lanes > MAX_PLAUSIBLE_FLOW_VPH_PER_LANE ? FLOW_OVER : 0)
  );
}

/** `,"quality":{…}}` closing a window, by qualityOf bits. */
const QUALITY_JSON: readonly string[] = [0, 1, 2, 3].map((bits) => {
  const flags: PlausibilityFlag[] = [];
  if (bits & OCCUPANCY_OVER) flags.push(PlausibilityFlag.OCCUPANCY_OVER_1);
  if (bits & FLOW_OVER) flags.push(PlausibilityFlag.FLOW_OVER_CAPACITY);
  return `,"quality":${JSON.stringify({ plausible: flags.length === 0, flags })}`;
});

/** A weather reading as the block a shard appends to a kernel row at `at` (absent: present 0, NaN). */
export function writeRowWeather(
  out: Float64Array,
  at: number,
  reading: Pick<WeatherReading, 'timestamp' | 'temp' | 'snow' | 'rain' | 'pressure' | 'wind' | 'visibility'> | undefined,
): void {
  if (reading === undefined) {
    out[at] = 0;
    out.fill(NaN, at + 1, at + 8);
    return;
  }
  out[at] = 1;
  out[at + W_TIMESTAMP] = reading.timestamp;
  out[at + W_TEMP] = reading.temp;
  out[at + W_SNOW] = reading.snow;
  out[at + W_RAIN] = reading.rain;
  out[at + W_PRESSURE] = reading.pressure;
  out[at + W_WIND] = reading.wind ?? NaN;
  out[at + W_VISIBILITY] = reading.visibility ?? NaN;
}

/** What every shard needs to build the records itself (plain data: it crosses to the worker threads). */
export function shardJoin(
  points: RoadPointTable,
  models: RiskModel | ModelSchedule<RiskModel>,
  calendar: CalendarResolver,
  levels: RiskLevels = DEFAULT_RISK_LEVELS,
): ShardJoin {
  const { holidays } = calendar.options;
  return {
    points: [...points.points],
    schedule: scheduleJson(models instanceof ModelSchedule ? models : new ModelSchedule(models)),
    calendar: { ...calendar.options, holidays: typeof holidays === 'string' ? holidays : [...holidays] },
    levels: { elevated: levels.elevated, high: levels.high },
  };
}

/** A schedule as plain data for the shards (a model in several entries is one object: one clone). */
export function scheduleJson(schedule: ModelSchedule<RiskModel>): ScheduleEntry<RiskModelJson>[] {
  return [...schedule.map(riskModelJson).list];
}

/** The schedule the host sent, with each model validated again (riskModel) in the shard. */
export function scheduleFromJson(entries: readonly ScheduleEntry<RiskModelJson>[]): ModelSchedule<RiskModel> {
  return ModelSchedule.of(entries).map((m) => riskModel(m, 'the host'));
}
