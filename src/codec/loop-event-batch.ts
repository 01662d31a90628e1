// FlatBuffers code for schema/loop_event_batch.fbs, written by hand in the shape `flatc --ts`
// generates (no flatc binary here), plus column-level encode / verify / decode helpers.
// The WASM kernel decodes the same bytes itself (assembly/flatbuffers.ts); `verifyLoopEventBatch`
// applies the same bounds checks, so both refuse the same malformed messages.

import * as flatbuffers from 'flatbuffers';
import { ErrorCodes, SaferoadsError } from '../errors.js';
import { allocateEventColumns, type EventColumns } from '../kernel/kernel.js';
import type { SeedLoopEvent } from './seed-json.js';


export const LOOP_EVENT_BATCH_IDENTIFIER = 'SRLE';
export const LOOP_EVENT_BYTES = 72;

export class LoopEvent {
  bb: flatbuffers.ByteBuffer | null = null;
  bb_pos = 0;

  __init(i: number, bb: flatbuffers.ByteBuffer): LoopEvent {
    this.bb_pos = i;
    this.bb = bb;
    return this;
  }

  tIn1(): number {
    return this.bb!.readFloat64(this.bb_pos);
  }
  tOut1(): number {
    return this.bb!.readFloat64(this.bb_pos + 8);
  }
  tIn2(): number {
    return this.bb!.readFloat64(this.bb_pos + 16);
  }
  tOut2(): number {
    return this.bb!.readFloat64(this.bb_pos + 24);
  }
  speed(): number {
    return this.bb!.readFloat64(this.bb_pos + 32);
  }
  gapMeters(): number {
    return this.bb!.readFloat64(this.bb_pos + 40);
  }
  gapSeconds(): number {
    return this.bb!.readFloat64(this.bb_pos + 48);
  }
  length(): number {
    return this.bb!.readFloat64(this.bb_pos + 56);
  }
  pointRef(): number {
    return this.bb!.readUint32(this.bb_pos + 64);
  }
  lane(): number {
    return this.bb!.readInt32(this.bb_pos + 68);
  }

  static sizeOf(): number {
    return LOOP_EVENT_BYTES;
  }

  static createLoopEvent(
    builder: flatbuffers.Builder,
    t_in_1: number,
    t_out_1: number,
    t_in_2: number,
    t_out_2: number,
    speed: number,
    gap_meters: number,
    gap_seconds: number,
    length: number,
    point_ref: number,
    lane: number,
  ): flatbuffers.Offset {
    builder.prep(8, LOOP_EVENT_BYTES);
    builder.writeInt32(lane);
    builder.writeInt32(point_ref | 0);
    builder.writeFloat64(length);
    builder.writeFloat64(gap_seconds);
    builder.writeFloat64(gap_meters);
    builder.writeFloat64(speed);
    builder.writeFloat64(t_out_2);
    builder.writeFloat64(t_in_2);
    builder.writeFloat64(t_out_1);
    builder.writeFloat64(t_in_1);
    return builder.offset();
  }
}

export class LoopEventBatch {
  bb: flatbuffers.ByteBuffer | null = null;
  bb_pos = 0;

  __init(i: number, bb: flatbuffers.ByteBuffer): LoopEventBatch {
    this.bb_pos = i;
    this.bb = bb;
    return this;
  }

  static getRootAsLoopEventBatch(bb: flatbuffers.ByteBuffer, obj?: LoopEventBatch): LoopEventBatch {
    return (obj || new LoopEventBatch()).__init(bb.readInt32(bb.position()) + bb.position(), bb);
  }

  static bufferHasIdentifier(bb: flatbuffers.ByteBuffer): boolean {
    return bb.__has_identifier(LOOP_EVENT_BATCH_IDENTIFIER);
  }

  pointIds(index: number): string;
  pointIds(index: number, optionalEncoding: flatbuffers.Encoding): string | Uint8Array;
  pointIds(index: number, optionalEncoding?: flatbuffers.Encoding): string | Uint8Array | null {
    const offset = this.bb!.__offset(this.bb_pos, 4);
    return offset
      ? this.bb!.__string(this.bb!.__vector(this.bb_pos + offset) + index * 4, optionalEncoding)
      : null;
  }

  pointIdsLength(): number {
    const offset = this.bb!.__offset(this.bb_pos, 4);
    return offset ? this.bb!.__vector_len(this.bb_pos + offset) : 0;
  }

  events(index: number, obj?: LoopEvent): LoopEvent | null {
    const offset = this.bb!.__offset(this.bb_pos, 6);
    return offset
      ? (obj || new LoopEvent()).__init(this.bb!.__vector(this.bb_pos + offset) + index * LOOP_EVENT_BYTES, this.bb!)
      : null;
  }

  eventsLength(): number {
    const offset = this.bb!.__offset(this.bb_pos, 6);
    return offset ? this.bb!.__vector_len(this.bb_pos + offset) : 0;
  }

  static startLoopEventBatch(builder: flatbuffers.Builder): void {
    builder.startObject(2);
  }

  static addPointIds(builder: flatbuffers.Builder, pointIdsOffset: flatbuffers.Offset): void {
    builder.addFieldOffset(0, pointIdsOffset, 0);
  }

  static createPointIdsVector(builder: flatbuffers.Builder, data: flatbuffers.Offset[]): flatbuffers.Offset {
    builder.startVector(4, data.length, 4);
    for (let i = data.length - 1; i >= 0; i--) builder.addOffset(data[i]!);
    return builder.endVector();
  }

  static startPointIdsVector(builder: flatbuffers.Builder, numElems: number): void {
    builder.startVector(4, numElems, 4);
  }

  static addEvents(builder: flatbuffers.Builder, eventsOffset: flatbuffers.Offset): void {
    builder.addFieldOffset(1, eventsOffset, 0);
  }

  static startEventsVector(builder: flatbuffers.Builder, numElems: number): void {
    builder.startVector(LOOP_EVENT_BYTES, numElems, 8);
  }

  static endLoopEventBatch(builder: flatbuffers.Builder): flatbuffers.Offset {
    return builder.endObject();
  }

  static finishLoopEventBatchBuffer(builder: flatbuffers.Builder, offset: flatbuffers.Offset): void {
    builder.finish(offset, LOOP_EVENT_BATCH_IDENTIFIER);
  }

  static createLoopEventBatch(
    builder: flatbuffers.Builder,
    pointIdsOffset: flatbuffers.Offset,
    eventsOffset: flatbuffers.Offset,
  ): flatbuffers.Offset {
    LoopEventBatch.startLoopEventBatch(builder);
    LoopEventBatch.addPointIds(builder, pointIdsOffset);
    LoopEventBatch.addEvents(builder, eventsOffset);
    return LoopEventBatch.endLoopEventBatch(builder);
  }
}

// ---- column-level helpers ---------------------------------------------------------------------

/** Whether `bytes[from, to)` carry the LoopEventBatch file identifier ("SRLE" at bytes 4..7). */
export function hasLoopEventBatchIdentifier(bytes: Uint8Array, from = 0, to = bytes.length): boolean {
  return to - from >= 8 && bytes[from + 4] === 0x53 && bytes[from + 5] === 0x52 && bytes[from + 6] === 0x4c && bytes[from + 7] === 0x45;
}

/**
 * Encodes the first `events.count` events; `events.point` holds each event's index into `pointIds`
 * (point_ref), `events.partition` is not encoded (the partition is where the message is read from).
 */
export function encodeLoopEventBatch(pointIds: readonly string[], events: EventColumns): Uint8Array {
  const n = events.count;
  const builder = new flatbuffers.Builder(n * LOOP_EVENT_BYTES + pointIds.length * 32 + 256);
  const idOffsets = pointIds.map((id) => builder.createString(id));
  const idsVector = LoopEventBatch.createPointIdsVector(builder, idOffsets);
  LoopEventBatch.startEventsVector(builder, n);
  for (let i = n - 1; i >= 0; i--) {
    LoopEvent.createLoopEvent(
      builder,
      events.tIn1[i],
      events.tOut1[i],
      events.tIn2[i],
      events.tOut2[i],
      events.speed[i],
      events.gapM[i],
      events.gapS[i],
      events.length[i],
      events.point[i],
      events.lane[i],
    );
  }
  const eventsVector = builder.endVector();
  const root = LoopEventBatch.createLoopEventBatch(builder, idsVector, eventsVector);
  LoopEventBatch.finishLoopEventBatchBuffer(builder, root);
  return builder.asUint8Array();
}

/** Where the parts of a verified message are. */
export interface LoopEventBatchLayout {
  /** (offset, length) of each point_id's UTF-8 bytes. */
  pointIdSpans: Array<[number, number]>;
  /** Offset of the first LoopEvent struct. */
  eventsAt: number;
  eventCount: number;
}

function malformed(what: string): never {
  throw new SaferoadsError(ErrorCodes.DECODE, `malformed LoopEventBatch: ${what}`);
}

/**
 * Checks every offset and length of a LoopEventBatch against the message size (the same rules as
 * the WASM decoder) and returns where its parts are. Throws SaferoadsError(DECODE) otherwise.
 */
export function verifyLoopEventBatch(bytes: Uint8Array): LoopEventBatchLayout {
  const len = bytes.length;
  if (len < 8) malformed('truncated (shorter than a FlatBuffers header)');
  if (!hasLoopEventBatchIdentifier(bytes)) malformed(`wrong file identifier (expected "${LOOP_EVENT_BATCH_IDENTIFIER}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = view.getUint32(0, true);
  if (table < 8 || table + 4 > len) malformed('root table offset out of bounds');
  const vtable = table - view.getInt32(table, true);
  if (vtable < 0 || vtable + 4 > len) malformed('vtable out of bounds');
  const vtableBytes = view.getUint16(vtable, true);
  const tableBytes = view.getUint16(vtable + 2, true);
  if (vtableBytes < 4 || vtableBytes % 2 !== 0 || vtable + vtableBytes > len) malformed('vtable out of bounds');
  if (tableBytes < 4 || table + tableBytes > len) malformed('vtable out of bounds');

  const vectorAt = (field: number, elementBytes: number): number => {
    const entry = 4 + 2 * field;
    if (entry + 2 > vtableBytes) return -1;
    const fieldOffset = view.getUint16(vtable + entry, true);
    if (fieldOffset === 0) return -1;
    if (fieldOffset < 4 || fieldOffset + 4 > tableBytes) malformed('vector out of bounds');
    const at = table + fieldOffset;
    const vector = at + view.getUint32(at, true);
    if (vector + 4 > len) malformed('vector out of bounds');
    if (vector + 4 + view.getUint32(vector, true) * elementBytes > len) malformed('vector out of bounds');
    return vector;
  };
  const ids = vectorAt(0, 4);
  const events = vectorAt(1, LOOP_EVENT_BYTES);
  const pointIdSpans: Array<[number, number]> = [];
  if (ids >= 0) {
    const count = view.getUint32(ids, true);
    for (let i = 0; i < count; i++) {
      const at = ids + 4 + 4 * i;
      const str = at + view.getUint32(at, true);
      if (str + 4 > len) malformed('string out of bounds');
      const strLen = view.getUint32(str, true);
      if (str + 4 + strLen + 1 > len) malformed('string out of bounds');
      pointIdSpans.push([str + 4, strLen]);
    }
  }
  return {
    pointIdSpans,
    eventsAt: events >= 0 ? events + 4 : 0,
    eventCount: events >= 0 ? view.getUint32(events, true) : 0,
  };
}

const utf8 = new TextDecoder();

/** Reads the LoopEvent structs of a verified message into `columns` (which must hold them all). */
function readEvents(bytes: Uint8Array, layout: LoopEventBatchLayout, columns: EventColumns, partition: number): void {
  const n = layout.eventCount;
  columns.count = n;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, at = layout.eventsAt; i < n; i++, at += LOOP_EVENT_BYTES) {
    columns.tIn1[i] = view.getFloat64(at, true);
    columns.tOut1[i] = view.getFloat64(at + 8, true);
    columns.tIn2[i] = view.getFloat64(at + 16, true);
    columns.tOut2[i] = view.getFloat64(at + 24, true);
    columns.speed[i] = view.getFloat64(at + 32, true);
    columns.gapM[i] = view.getFloat64(at + 40, true);
    columns.gapS[i] = view.getFloat64(at + 48, true);
    columns.length[i] = view.getFloat64(at + 56, true);
    // point_ref is a uint; beyond i32 it cannot index pointIds anyway, so it wraps to a negative.
    columns.point[i] = view.getUint32(at + 64, true) | 0;
    columns.lane[i] = view.getInt32(at + 68, true);
    columns.partition[i] = partition;
  }
}

function pointIdsOf(bytes: Uint8Array, layout: LoopEventBatchLayout, into: string[]): string[] {
  into.length = 0;
  for (const [at, n] of layout.pointIdSpans) into.push(utf8.decode(bytes.subarray(at, at + n)));
  return into;
}

/**
 * Decodes messages into one reusable set of columns (grown by doubling, never shrunk): the hot-path
 * form of decodeLoopEventBatch, with no allocation per event. `columns.point` holds point_ref (an
 * index into `pointIds`; the caller maps it to its dense point index); `columns.partition` is the
 * given partition for every event. Each decode overwrites the previous result.
 */
export class LoopEventBatchDecoder {
  columns: EventColumns;
  readonly pointIds: string[] = [];

  constructor(initialCapacity = 1024) {
    this.columns = allocateEventColumns(initialCapacity);
  }

  /** Throws SaferoadsError(DECODE) for a malformed message (the previous result is then invalid). */
  decode(bytes: Uint8Array, partition = 0): EventColumns {
    const layout = verifyLoopEventBatch(bytes);
    pointIdsOf(bytes, layout, this.pointIds);
    if (layout.eventCount > this.columns.tIn1.length) {
      let capacity = Math.max(1, this.columns.tIn1.length);
      while (capacity < layout.eventCount) capacity *= 2;
      this.columns = allocateEventColumns(capacity);
    }
    readEvents(bytes, layout, this.columns, partition);
    return this.columns;
  }
}

/**
 * Decodes a message into fresh point ids and exactly sized columns (tests and tools; the service
 * uses LoopEventBatchDecoder, which allocates nothing per message).
 */
export function decodeLoopEventBatch(bytes: Uint8Array, partition = 0): { pointIds: string[]; columns: EventColumns } {
  const layout = verifyLoopEventBatch(bytes);
  const columns = allocateEventColumns(layout.eventCount);
  readEvents(bytes, layout, columns, partition);
  return { pointIds: pointIdsOf(bytes, layout, []), columns };
}

/**
 * Encodes seed-format events as one LoopEventBatch; `pointIds` lists the message's point ids (each
 * event's point_id must be among them). Generators, tools and tests use it; the service only reads.
 */
export function encodeSeedEvents(pointIds: readonly string[], events: readonly SeedLoopEvent[]): Uint8Array {
  const refOf = new Map(pointIds.map((id, i) => [id, i]));
  const c = allocateEventColumns(events.length);
  c.count = events.length;
  events.forEach((e, k) => {
    const ref = refOf.get(e.point_id);
    if (ref === undefined) throw new RangeError(`encodeSeedEvents: point_id ${e.point_id} is not in pointIds`);
    c.tIn1[k] = e.timestamp_in_1;
    c.tOut1[k] = e.timestamp_out_1;
    c.tIn2[k] = e.timestamp_in_2;
    c.tOut2[k] = e.timestamp_out_2;
    c.speed[k] = e.speed;
    c.gapM[k] = e.gap_meters;
    c.gapS[k] = e.gap_seconds;
    c.length[k] = e.length;
    c.point[k] = ref;
    c.lane[k] = e.lane;
  });
  return encodeLoopEventBatch(pointIds, c);
}
