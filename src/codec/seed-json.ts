/**
 * Decoder for the seed loop-event format: one JSON object per Kafka message (key = point_id),
 *
 *   {"lane":1,"timestamp_in_1":…,"timestamp_out_1":…,"timestamp_in_2":…,"timestamp_out_2":…,
 *    "speed":…,"gap_meters":…,"gap_seconds":…,"length":…,"point_id":"…"}
 *
 * written straight into the next row of a reusable struct-of-arrays batch (EventColumns), so that a
 * decoded event costs nothing beyond JSON.parse itself.
 *
 * The decoder is strict about shape, not about range: all ten fields are required, numbers must be
 * JSON numbers (a string "52.1" is refused), lane must be an integer and point_id a non-empty string
 * of the road table. Ranges (negative speed, lane 9, tOut1 < tIn1, …) are the kernel's job and its
 * reasons (src/kernel/contract.ts). A JSON number too large for a double (1e999) parses as Infinity
 * and is passed through so that the kernel refuses it as NOT_FINITE. Two edge cases of lane, an
 * int32 column: a non-finite lane is not an integer (WRONG_TYPE); an integer lane outside the int32
 * range is stored as 0, which the kernel refuses as LANE_OUT_OF_RANGE.
 */
import { allocateEventColumns, type EventColumns } from '../kernel/kernel.js';
import {
  F_GAP_M,
  F_GAP_S,
  F_LANE,
  F_LENGTH,
  F_POINT_ID,
  F_SPEED,
  F_T_IN_1,
  F_T_IN_2,
  F_T_OUT_1,
  F_T_OUT_2,
  K_ABSENT,
  K_NUMBER,
  K_STRING,
  latin1,
  PointIndexBytes,
  SeedJsonScanner,
} from './seed-json-scan.js';

export { PointIndexBytes } from './seed-json-scan.js';

/** Accepted: the event is the next row of the batch. */
export const DECODE_OK = 0;
/** The message is not JSON (or has no value at all: a tombstone). */
export const INVALID_JSON = 'INVALID_JSON';
/** A required field is absent. */
export const MISSING_FIELD = 'MISSING_FIELD';
/** A field (or the message itself) has the wrong JSON type: a string for a number, a fractional lane… */
export const WRONG_TYPE = 'WRONG_TYPE';
/** point_id is not in the road-points table. */
export const UNKNOWN_POINT_ID = 'UNKNOWN_POINT_ID';

export type DecodeReject = typeof INVALID_JSON | typeof MISSING_FIELD | typeof WRONG_TYPE | typeof UNKNOWN_POINT_ID;
/** 0 (DECODE_OK) or the reason the message was refused. */
export type DecodeResult = typeof DECODE_OK | DecodeReject;

/** A loop event in the seed format, as a typed object (the generator's output, tests). */
export interface SeedLoopEvent {
  lane: number;
  timestamp_in_1: number;
  timestamp_out_1: number;
  timestamp_in_2: number;
  timestamp_out_2: number;
  /** km/h */
  speed: number;
  gap_meters: number;
  gap_seconds: number;
  /** metres */
  length: number;
  point_id: string;
}

/** The seed's fields in their canonical (JSON) order. */
export const SEED_FIELDS = Object.freeze([
  'lane',
  'timestamp_in_1',
  'timestamp_out_1',
  'timestamp_in_2',
  'timestamp_out_2',
  'speed',
  'gap_meters',
  'gap_seconds',
  'length',
  'point_id',
] as const);

export type PointIndexOf = (pointId: string) => number | undefined;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * A point_id as saferoads knows it: a non-empty string as it is, or a non-negative safe integer (the
 * seed's generator and notebooks write integers) as its decimal string — `7` is the point "7" of the
 * road-points CSV. Anything else (a fraction, a negative number, -0, an empty string) is undefined.
 */
export function canonicalPointId(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  // V8 keeps a cache of number → string conversions: no allocation per event for recurring ids.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0)) return String(value);
  return undefined;
}

/**
 * A reusable batch of decoded loop events. Fill it with `appendJsonBytes`/`appendJson`/`appendEvent` until `isFull`
 * (it never grows), hand `columns` to the kernel, then `reset()`.
 */
export class EventColumnsBuilder {
  readonly capacity: number;
  readonly columns: EventColumns;
  /** After a refusal: the field at fault ('' when the message as a whole is at fault). */
  rejectField = '';
  private rejectKind: DecodeReject | '' = '';
  private rejectCause = '';
  private scanner: SeedJsonScanner | null = null;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`EventColumnsBuilder capacity must be a positive integer (got ${capacity})`);
    this.capacity = capacity;
    this.columns = allocateEventColumns(capacity);
  }

  get count(): number {
    return this.columns.count;
  }

  get isFull(): boolean {
    return this.columns.count >= this.capacity;
  }

  /** Empties the batch (the arrays are kept and overwritten). */
  reset(): void {
    this.columns.count = 0;
  }

  /**
   * Why the last append was refused, in words (built on demand: nothing is allocated on success).
   * Meaningless after a successful append.
   */
  get detail(): string {
    const f = this.rejectField;
    switch (this.rejectKind) {
      case INVALID_JSON:
        return this.rejectCause === '' ? 'not JSON' : `not JSON: ${this.rejectCause}`;
      case MISSING_FIELD:
        return `missing field "${f}"`;
      case WRONG_TYPE:
        if (f === '') return 'not a JSON object';
        if (f === 'lane') return 'field "lane" must be an integer';
        if (f === 'point_id') return 'field "point_id" must be a non-empty string';
        return `field "${f}" must be a JSON number`;
      case UNKNOWN_POINT_ID:
        return `point_id "${this.rejectCause}" is not in the road-points table`;
      default:
        return '';
    }
  }

  /**
   * Decodes one message value (UTF-8 JSON) into the next row. `partitionSlot` goes to the partition
   * column; `pointIndexOf` maps point_id to the kernel's dense point index.
   */
  appendJson(value: Buffer | null, partitionSlot: number, pointIndexOf: PointIndexOf): DecodeResult {
    if (value === null) return this.reject(INVALID_JSON, '', 'empty message (null value)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.toString('utf8'));
    } catch (error) {
      return this.reject(INVALID_JSON, '', error instanceof Error ? error.message : String(error));
    }
    return this.appendParsed(parsed, partitionSlot, pointIndexOf);
  }

  /** As `appendJson`, for a value already parsed (e.g. by a line reader). */
  appendParsed(parsed: unknown, partitionSlot: number, pointIndexOf: PointIndexOf): DecodeResult {
    if (this.columns.count >= this.capacity) throw new RangeError('EventColumnsBuilder is full: check isFull before appending');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.reject(WRONG_TYPE, '', '');
    const o = parsed as Record<string, unknown>;
    // Field by field in the seed's order; the first problem wins.
    const lane = o.lane;
    if (lane === undefined) return this.reject(MISSING_FIELD, 'lane', '');
    if (typeof lane !== 'number' || !Number.isInteger(lane)) return this.reject(WRONG_TYPE, 'lane', '');
    const tIn1 = o.timestamp_in_1;
    if (tIn1 === undefined) return this.reject(MISSING_FIELD, 'timestamp_in_1', '');
    if (typeof tIn1 !== 'number') return this.reject(WRONG_TYPE, 'timestamp_in_1', '');
    const tOut1 = o.timestamp_out_1;
    if (tOut1 === undefined) return this.reject(MISSING_FIELD, 'timestamp_out_1', '');
    if (typeof tOut1 !== 'number') return this.reject(WRONG_TYPE, 'timestamp_out_1', '');
    const tIn2 = o.timestamp_in_2;
    if (tIn2 === undefined) return this.reject(MISSING_FIELD, 'timestamp_in_2', '');
    if (typeof tIn2 !== 'number') return this.reject(WRONG_TYPE, 'timestamp_in_2', '');
    const tOut2 = o.timestamp_out_2;
    if (tOut2 === undefined) return this.reject(MISSING_FIELD, 'timestamp_out_2', '');
    if (typeof tOut2 !== 'number') return this.reject(WRONG_TYPE, 'timestamp_out_2', '');
    const speed = o.speed;
    if (speed === undefined) return this.reject(MISSING_FIELD, 'speed', '');
    if (typeof speed !== 'number') return this.reject(WRONG_TYPE, 'speed', '');
    const gapM = o.gap_meters;
    if (gapM === undefined) return this.reject(MISSING_FIELD, 'gap_meters', '');
    if (typeof gapM !== 'number') return this.reject(WRONG_TYPE, 'gap_meters', '');
    const gapS = o.gap_seconds;
    if (gapS === undefined) return this.reject(MISSING_FIELD, 'gap_seconds', '');
    if (typeof gapS !== 'number') return this.reject(WRONG_TYPE, 'gap_seconds', '');
    const length = o.length;
    if (length === undefined) return this.reject(MISSING_FIELD, 'length', '');
    if (typeof length !== 'number') return this.reject(WRONG_TYPE, 'length', '');
    const rawPointId = o.point_id;
    if (rawPointId === undefined) return this.reject(MISSING_FIELD, 'point_id', '');
    const pointId = canonicalPointId(rawPointId);
    if (pointId === undefined) return this.reject(WRONG_TYPE, 'point_id', '');
    const point = pointIndexOf(pointId);
    if (point === undefined) return this.reject(UNKNOWN_POINT_ID, 'point_id', pointId);
    this.write(lane, tIn1, tOut1, tIn2, tOut2, speed, gapM, gapS, length, point, partitionSlot);
    return DECODE_OK;
  }

  /**
   * As `appendJson(value)` for the message value bytes[from, to) — same rows, same numbers to the
   * bit, same refusal and `detail` — but read straight from the bytes: no string, no JSON.parse, no
   * allocation for a seed event (seed-json-scan.ts). What the scanner does not take (escapes in a
   * key or in point_id, a non-ASCII point_id, nesting deeper than 32, anything not JSON) goes
   * through `appendJson`, which decides. `null` is a tombstone, as for appendJson.
   */
  appendJsonBytes(bytes: Uint8Array | null, from: number, to: number, partitionSlot: number, points: PointIndexBytes): DecodeResult {
    if (bytes === null) return this.appendJson(null, partitionSlot, points.indexOf);
    const scanner = (this.scanner ??= new SeedJsonScanner());
    if (!scanner.scan(bytes, from, to)) {
      return this.appendJson(Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from), partitionSlot, points.indexOf);
    }
    if (this.columns.count >= this.capacity) throw new RangeError('EventColumnsBuilder is full: check isFull before appending');
    const kind = scanner.kind;
    const v = scanner.value;
    // Field by field in the seed's order, as appendParsed.
    let k = kind[F_LANE];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'lane', '');
    if (k !== K_NUMBER || !Number.isInteger(v[F_LANE])) return this.reject(WRONG_TYPE, 'lane', '');
    k = kind[F_T_IN_1];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'timestamp_in_1', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'timestamp_in_1', '');
    k = kind[F_T_OUT_1];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'timestamp_out_1', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'timestamp_out_1', '');
    k = kind[F_T_IN_2];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'timestamp_in_2', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'timestamp_in_2', '');
    k = kind[F_T_OUT_2];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'timestamp_out_2', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'timestamp_out_2', '');
    k = kind[F_SPEED];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'speed', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'speed', '');
    k = kind[F_GAP_M];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'gap_meters', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'gap_meters', '');
    k = kind[F_GAP_S];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'gap_seconds', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'gap_seconds', '');
    k = kind[F_LENGTH];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'length', '');
    if (k !== K_NUMBER) return this.reject(WRONG_TYPE, 'length', '');
    k = kind[F_POINT_ID];
    if (k === K_ABSENT) return this.reject(MISSING_FIELD, 'point_id', '');
    let point: number;
    if (k === K_STRING) {
      const s = scanner.pointIdStart;
      const e = scanner.pointIdEnd;
      if (e === s) return this.reject(WRONG_TYPE, 'point_id', '');
      point = points.lookupBytes(bytes, s, e);
      // The scanner took only a plain ASCII point_id: its text is its bytes.
      if (point < 0) return this.reject(UNKNOWN_POINT_ID, 'point_id', latin1(bytes, s, e));
    } else if (k === K_NUMBER) {
      const id = v[F_POINT_ID];
      // canonicalPointId of a number.
      if (!Number.isSafeInteger(id) || id < 0 || (id === 0 && 1 / id < 0)) return this.reject(WRONG_TYPE, 'point_id', '');
      point = points.lookupSafeInteger(id);
      if (point < 0) return this.reject(UNKNOWN_POINT_ID, 'point_id', String(id));
    } else {
      return this.reject(WRONG_TYPE, 'point_id', '');
    }
    this.write(v[F_LANE], v[F_T_IN_1], v[F_T_OUT_1], v[F_T_IN_2], v[F_T_OUT_2], v[F_SPEED], v[F_GAP_M], v[F_GAP_S], v[F_LENGTH], point, partitionSlot);
    return DECODE_OK;
  }

  /** Appends a typed event (no shape checks beyond the point lookup: the type says the shape). */
  appendEvent(event: SeedLoopEvent, partitionSlot: number, pointIndexOf: PointIndexOf): DecodeResult {
    if (this.columns.count >= this.capacity) throw new RangeError('EventColumnsBuilder is full: check isFull before appending');
    const point = pointIndexOf(event.point_id);
    if (point === undefined) return this.reject(UNKNOWN_POINT_ID, 'point_id', event.point_id);
    this.write(
      event.lane,
      event.timestamp_in_1,
      event.timestamp_out_1,
      event.timestamp_in_2,
      event.timestamp_out_2,
      event.speed,
      event.gap_meters,
      event.gap_seconds,
      event.length,
      point,
      partitionSlot,
    );
    return DECODE_OK;
  }

  private write(
    lane: number,
    tIn1: number,
    tOut1: number,
    tIn2: number,
    tOut2: number,
    speed: number,
    gapM: number,
    gapS: number,
    length: number,
    point: number,
    partitionSlot: number,
  ): void {
    const c = this.columns;
    const i = c.count;
    c.tIn1[i] = tIn1;
    c.tOut1[i] = tOut1;
    c.tIn2[i] = tIn2;
    c.tOut2[i] = tOut2;
    c.speed[i] = speed;
    c.gapM[i] = gapM;
    c.gapS[i] = gapS;
    c.length[i] = length;
    c.point[i] = point;
    // An int32 column would wrap 2^32+1 to 1; store 0 instead so the kernel refuses the lane.
    c.lane[i] = lane >= INT32_MIN && lane <= INT32_MAX ? lane : 0;
    c.partition[i] = partitionSlot;
    c.count = i + 1;
  }

  private reject(kind: DecodeReject, field: string, cause: string): DecodeReject {
    this.rejectKind = kind;
    this.rejectField = field;
    this.rejectCause = cause;
    return kind;
  }
}

/** The seed JSON of a typed event, fields in canonical order. */
export function seedEventJson(e: SeedLoopEvent): string {
  return JSON.stringify({
    lane: e.lane,
    timestamp_in_1: e.timestamp_in_1,
    timestamp_out_1: e.timestamp_out_1,
    timestamp_in_2: e.timestamp_in_2,
    timestamp_out_2: e.timestamp_out_2,
    speed: e.speed,
    gap_meters: e.gap_meters,
    gap_seconds: e.gap_seconds,
    length: e.length,
    point_id: e.point_id,
  });
}
