import { EVENT_F64_COLUMNS, EVENT_I32_COLUMNS } from '../kernel/contract.js';
import type { EventColumns } from '../kernel/kernel.js';

/**
 * Event columns packed into one ArrayBuffer: one allocation for a whole batch, no per-event
 * objects.
 *
 * Layout for capacity c: EVENT_F64_COLUMNS.length f64 columns of c values, then
 * EVENT_I32_COLUMNS.length i32 columns of c values:
 *   [tIn1 × c][tOut1 × c][tIn2 × c][tOut2 × c][speed × c][gapM × c][gapS × c][length × c]
 *   [point × c][lane × c][partition × c]
 */
export function packedColumnsBytes(capacity: number): number {
  return capacity * (EVENT_F64_COLUMNS.length * 8 + EVENT_I32_COLUMNS.length * 4);
}

export function viewPackedColumns(buffer: ArrayBuffer, capacity: number, count: number): EventColumns {
  const f64 = (k: number) => new Float64Array(buffer, k * capacity * 8, capacity);
  const i32Base = EVENT_F64_COLUMNS.length * capacity * 8;
  const i32 = (k: number) => new Int32Array(buffer, i32Base + k * capacity * 4, capacity);
  return {
    count,
    tIn1: f64(0),
    tOut1: f64(1),
    tIn2: f64(2),
    tOut2: f64(3),
    speed: f64(4),
    gapM: f64(5),
    gapS: f64(6),
    length: f64(7),
    point: i32(0),
    lane: i32(1),
    partition: i32(2),
  };
}

/** A reusable batch a shard appends its admitted events to before they go into its kernel. */
export class PackedColumns {
  readonly buffer: ArrayBuffer;
  readonly columns: EventColumns;

  constructor(readonly capacity: number) {
    this.buffer = new ArrayBuffer(packedColumnsBytes(capacity));
    this.columns = viewPackedColumns(this.buffer, capacity, 0);
  }

  get count(): number {
    return this.columns.count;
  }

  get full(): boolean {
    return this.columns.count === this.capacity;
  }

  /** Copies event `i` of `from`. */
  append(from: EventColumns, i: number): void {
    const c = this.columns;
    const k = c.count;
    c.tIn1[k] = from.tIn1[i];
    c.tOut1[k] = from.tOut1[i];
    c.tIn2[k] = from.tIn2[i];
    c.tOut2[k] = from.tOut2[i];
    c.speed[k] = from.speed[i];
    c.gapM[k] = from.gapM[i];
    c.gapS[k] = from.gapS[i];
    c.length[k] = from.length[i];
    c.point[k] = from.point[i];
    c.lane[k] = from.lane[i];
    c.partition[k] = from.partition[i];
    c.count = k + 1;
  }
}
