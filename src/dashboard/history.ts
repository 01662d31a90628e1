/**
 * A bounded in-memory history of the published risk records, per road point: the last N window
 * ends as compact numeric rows (a preallocated ring per point), and the latest record in full.
 *
 * Memory bound: each point holds one ring of `capacity` rows of (1 + FIELDS.length + K) float64
 * (K = the model's contributions, 12 for the default model): 8 × (1 + 10 + 12) = 184 bytes per
 * entry, so points × capacity × 184 bytes, e.g. 1,000 points × 360 ends ≈ 66 MB, 100 points ≈ 6.6
 * MB; plus one full RiskRecord (the service's own object, ~2-3 KB) per point. A ring is allocated
 * once, on its point's first record; at most `maxPoints` points are kept (the road-points table
 * bounds them anyway; records of further points are counted in `dropped`, not stored).
 *
 * A record published again (at-least-once: after a restart the rows from the restart point are
 * published once more) replaces the row of its window end; it never adds a second one.
 */
import type { RiskRecord } from '../join/types.js';
import { ConfigError } from '../errors.js';

/** The numeric columns of a row besides window_end and the contributions (null stored as NaN). */
export const FIELDS = ['score', 'reliable', 'mean_speed_kmh', 'v85_kmh', 'flow_vph', 'occupancy', 'count', 'temp', 'snow', 'rain'] as const;
export type Field = (typeof FIELDS)[number];

const SCORE = 0;
const RELIABLE = 1;
const MEAN_SPEED = 2;
const V85 = 3;
const FLOW = 4;
const OCCUPANCY = 5;
const COUNT = 6;
const TEMP = 7;
const SNOW = 8;
const RAIN = 9;

export const DEFAULT_HISTORY_HOURS = 6;
export const DEFAULT_MAX_POINTS = 100_000;
/** Until the service tells its advance (ServiceProbe.advanceS). */
export const DEFAULT_ADVANCE_S = 60;

export interface HistoryOptions {
  /** Window ends kept per point; default: `hours` worth at the advance. */
  ends?: number;
  /** Hours kept per point when `ends` is not given (default 6: 360 ends at a 60 s advance). */
  hours: number;
  /** Seconds between window ends (the spec's advance). */
  advanceS: number;
  maxPoints: number;
}

/** A point's series in time order, column by column (null where the record had none). */
export interface PointSeries {
  point_id: string;
  window_end: number[];
  series: Record<Field, (number | null)[]>;
  contributions: Record<string, number[]>;
}

/** Scores of points × window ends (null: no row for that end). */
export interface HeatMap {
  advance_s: number;
  window_end: number[];
  points: string[];
  scores: (number | null)[][];
}

class PointRing {
  /** Window end per slot, seconds. */
  readonly ends: Float64Array;
  /** Row-major: `width` float64 per slot. */
  readonly rows: Float64Array;
  /** Slot of the oldest row. */
  head = 0;
  size = 0;
  latest: RiskRecord;

  constructor(
    readonly capacity: number,
    readonly width: number,
    first: RiskRecord,
  ) {
    this.ends = new Float64Array(capacity);
    this.rows = new Float64Array(capacity * width);
    this.latest = first;
  }

  slot(k: number): number {
    return (this.head + k) % this.capacity;
  }

  endAt(k: number): number {
    return this.ends[this.slot(k)];
  }

  /** The slot for window end `end` (existing, appended or inserted in order); -1: older than everything kept. */
  place(end: number): number {
    const n = this.size;
    if (n === 0 || end > this.endAt(n - 1)) {
      // The usual case: the next window end.
      if (n < this.capacity) {
        this.size++;
        return this.slot(n);
      }
      const s = this.head;
      this.head = (this.head + 1) % this.capacity;
      return s;
    }
    // Published again (or out of order): binary search the logical positions.
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.endAt(mid);
      if (e === end) return this.slot(mid);
      if (e < end) lo = mid + 1;
      else hi = mid - 1;
    }
    // Not kept: `lo` is where it belongs.
    if (lo === 0 && n === this.capacity) return -1;
    if (n === this.capacity) {
      // Full: the oldest row goes; rows before `lo` move one back.
      for (let k = 0; k < lo - 1; k++) this.copy(this.slot(k + 1), this.slot(k));
      return this.slot(lo - 1);
    }
    for (let k = n; k > lo; k--) this.copy(this.slot(k - 1), this.slot(k));
    this.size++;
    return this.slot(lo);
  }

  private copy(from: number, to: number): void {
    this.ends[to] = this.ends[from];
    this.rows.copyWithin(to * this.width, from * this.width, (from + 1) * this.width);
  }
}

function num(v: number | null | undefined): number {
  return v === null || v === undefined ? NaN : v;
}

function orNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

export class RecordHistory {
  private readonly points = new Map<string, PointRing>();
  private explicitEnds?: number;
  private hours: number;
  private advance: number;
  private readonly maxPoints: number;
  /** Contribution names, fixed by the first record (one model per process). */
  private contributionNames: string[] | undefined;
  private contributionIndex = new Map<string, number>();
  /** Records not stored: of points beyond maxPoints. */
  dropped = 0;

  constructor(options: Partial<HistoryOptions> = {}) {
    const o = { hours: DEFAULT_HISTORY_HOURS, advanceS: DEFAULT_ADVANCE_S, maxPoints: DEFAULT_MAX_POINTS, ...options };
    if (o.ends !== undefined && (!Number.isInteger(o.ends) || o.ends < 1)) throw new ConfigError('dashboard.ends', `must be a positive integer (got ${o.ends})`);
    if (!(o.hours > 0)) throw new ConfigError('dashboard.hours', `must be a positive number (got ${o.hours})`);
    if (!Number.isInteger(o.maxPoints) || o.maxPoints < 1) throw new ConfigError('dashboard.maxPoints', `must be a positive integer (got ${o.maxPoints})`);
    this.explicitEnds = o.ends;
    this.hours = o.hours;
    this.advance = positiveAdvance(o.advanceS);
    this.maxPoints = o.maxPoints;
  }

  /** The spec's advance (the service tells it before its first record); rings made later use it. */
  setAdvance(advanceS: number): void {
    this.advance = positiveAdvance(advanceS);
  }

  get advanceS(): number {
    return this.advance;
  }

  /** Window ends kept per point. */
  get capacity(): number {
    return this.explicitEnds ?? Math.max(1, Math.ceil((this.hours * 3600) / this.advance));
  }

  /** Bytes of one stored row (window end + the numeric columns + the contributions). */
  get bytesPerEntry(): number {
    return 8 * (1 + FIELDS.length + (this.contributionNames?.length ?? 0));
  }

  /** Bytes the rings hold now (allocated in full on a point's first record). */
  get ringBytes(): number {
    let total = 0;
    for (const p of this.points.values()) total += p.ends.byteLength + p.rows.byteLength;
    return total;
  }

  get pointCount(): number {
    return this.points.size;
  }

  /** One record: one row written, no allocation after its point's first record. */
  add(r: RiskRecord): void {
    let ring = this.points.get(r.point_id);
    if (ring === undefined) {
      if (this.points.size >= this.maxPoints) {
        this.dropped++;
        return;
      }
      if (this.contributionNames === undefined) {
        this.contributionNames = Object.keys(r.risk.contributions);
        this.contributionNames.forEach((name, i) => this.contributionIndex.set(name, i));
      }
      ring = new PointRing(this.capacity, FIELDS.length + this.contributionNames.length, r);
      this.points.set(r.point_id, ring);
    }
    const end = r.window_end;
    const s = ring.place(end);
    if (s < 0) return;
    if (end >= ring.latest.window_end) ring.latest = r;
    ring.ends[s] = end;
    const w = ring.width;
    const rows = ring.rows;
    const at = s * w;
    const st = r.short;
    rows[at + SCORE] = r.risk.score;
    rows[at + RELIABLE] = r.risk.reliable ? 1 : 0;
    rows[at + MEAN_SPEED] = num(st.mean_speed_kmh);
    rows[at + V85] = num(st.v85_kmh);
    rows[at + FLOW] = st.flow_vph;
    rows[at + OCCUPANCY] = num(st.occupancy);
    rows[at + COUNT] = st.count;
    const weather = r.weather;
    rows[at + TEMP] = weather === null ? NaN : weather.temp;
    rows[at + SNOW] = weather === null ? NaN : weather.snow;
    rows[at + RAIN] = weather === null ? NaN : weather.rain;
    const c = at + FIELDS.length;
    const names = this.contributionNames!;
    const k = names.length;
    for (let i = 0; i < k; i++) rows[c + i] = NaN;
    let i = 0;
    const contributions = r.risk.contributions;
    for (const name in contributions) {
      // The model builds them in the same order every time: the index lookup is the rare path.
      const j = names[i] === name ? i : (this.contributionIndex.get(name) ?? -1);
      if (j >= 0 && j < k) rows[c + j] = contributions[name];
      i++;
    }
  }

  has(pointId: string): boolean {
    return this.points.has(pointId);
  }

  /** The latest record of every point, riskiest first (ties: by point id). */
  now(): RiskRecord[] {
    const out: RiskRecord[] = [];
    for (const p of this.points.values()) out.push(p.latest);
    return out.sort((a, b) => b.risk.score - a.risk.score || compareIds(a.point_id, b.point_id));
  }

  latest(pointId: string): RiskRecord | undefined {
    return this.points.get(pointId)?.latest;
  }

  /** A point's rows in time order; undefined for a point with no record. */
  history(pointId: string): PointSeries | undefined {
    const ring = this.points.get(pointId);
    if (ring === undefined) return undefined;
    const n = ring.size;
    const names = this.contributionNames ?? [];
    const series = Object.fromEntries(FIELDS.map((f) => [f, new Array<number | null>(n)])) as Record<Field, (number | null)[]>;
    const contributions = Object.fromEntries(names.map((name) => [name, new Array<number>(n)])) as Record<string, number[]>;
    const windowEnd = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const s = ring.slot(k);
      windowEnd[k] = ring.ends[s];
      const at = s * ring.width;
      for (let f = 0; f < FIELDS.length; f++) {
        const v = ring.rows[at + f];
        series[FIELDS[f]][k] = f === RELIABLE ? v : orNull(v);
      }
      for (let j = 0; j < names.length; j++) contributions[names[j]][k] = orNull(ring.rows[at + FIELDS.length + j]) as number;
    }
    return { point_id: pointId, window_end: windowEnd, series, contributions };
  }

  /**
   * Scores of every point (sorted by id) at the last `ends` window ends up to the latest one seen,
   * `advanceS` apart; null where a point has no row for an end.
   */
  heat(ends: number): HeatMap {
    const count = Math.max(1, Math.min(Math.floor(ends), this.capacity));
    const ids = [...this.points.keys()].sort(compareIds);
    let last = -Infinity;
    for (const p of this.points.values()) if (p.size > 0) last = Math.max(last, p.ends[p.slot(p.size - 1)]);
    if (!Number.isFinite(last)) return { advance_s: this.advance, window_end: [], points: ids, scores: ids.map(() => []) };
    const first = last - (count - 1) * this.advance;
    const windowEnd = Array.from({ length: count }, (_, k) => first + k * this.advance);
    const scores = ids.map((id) => {
      const ring = this.points.get(id)!;
      const row = new Array<number | null>(count).fill(null);
      for (let k = 0; k < ring.size; k++) {
        const s = ring.slot(k);
        const pos = (ring.ends[s] - first) / this.advance;
        if (Number.isInteger(pos) && pos >= 0 && pos < count) row[pos] = orNull(ring.rows[s * ring.width + SCORE]);
      }
      return row;
    });
    return { advance_s: this.advance, window_end: windowEnd, points: ids, scores };
  }
}

function positiveAdvance(v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError('dashboard.advanceS', `must be a positive number of seconds (got ${v})`);
  return v;
}

/** Point ids in natural order ("P2" before "P10"). */
export function compareIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
