// Reads a LoopEventBatch (schema/loop_event_batch.fbs) straight from message bytes the host copied
// to messagePtr. Every offset and length is checked against the message size before it is
// followed, so a malformed message yields an FB_* code and never a trap or a read outside it.
//
// Wire format used (FlatBuffers, little endian):
//   0  u32 root table offset           4  "SRLE" file identifier
//   table T: i32 soffset to its vtable (vtable = T - soffset)
//   vtable V: u16 vtable bytes, u16 table bytes, u16 field offset per field (0 = absent)
//     field 0 point_ids: u32 offset to [string]    field 1 events: u32 offset to [LoopEvent]
//   vector: u32 length, then elements; [string] elements are u32 offsets to (u32 length, bytes, 0)
//   LoopEvent struct (72 bytes): 8 f64 (t_in_1, t_out_1, t_in_2, t_out_2, speed, gap_meters,
//     gap_seconds, length), u32 point_ref at 64, i32 lane at 68.

import {
  COL_GAP_M,
  COL_GAP_S,
  COL_LANE,
  COL_LENGTH,
  COL_PARTITION,
  COL_POINT,
  COL_SPEED,
  COL_T_IN_1,
  COL_T_IN_2,
  COL_T_OUT_1,
  COL_T_OUT_2,
  FB_BAD_IDENTIFIER,
  FB_BAD_RANGE,
  FB_BAD_ROOT,
  FB_BAD_STRING,
  FB_BAD_VECTOR,
  FB_BAD_VTABLE,
  FB_TOO_LARGE,
  FB_TOO_MANY_POINT_IDS,
  FB_TRUNCATED,
} from './constants';
import { batchCapacity, f64Column, i32Column, messageCapacity, messagePtr, pointIdCapacity, pointIdMapPtr, pointIdSpansPtr } from './layout';

export const LOOP_EVENT_BYTES: i32 = 72;
const FIELD_POINT_IDS: i32 = 0;
const FIELD_EVENTS: i32 = 1;
/** "SRLE" read as a little-endian u32. */
const FILE_IDENTIFIER: u32 = 0x454c5253;
/** Result of vectorAt for an absent field: an empty vector. */
const ABSENT: i64 = -1;
const MALFORMED: i64 = -2;

export let fbEventCount: i32 = 0;
export let fbPointIdCount: i32 = 0;
let fbEventsAt: u64 = 0;
let fbValid = false;

/**
 * Position of the vector that table field `field` points to, ABSENT or MALFORMED. Checks that the
 * offset field lies inside the table and the vector header and its `elementBytes`-sized elements
 * lie inside the message.
 */
function vectorAt(len: u64, table: u64, tableBytes: u64, vtable: u64, vtableBytes: u64, field: i32, elementBytes: u64): i64 {
  const entry = <u64>(4 + 2 * field);
  if (entry + 2 > vtableBytes) return ABSENT;
  const fieldOffset = <u64>load<u16>(messagePtr + <usize>(vtable + entry));
  if (fieldOffset == 0) return ABSENT;
  if (fieldOffset < 4 || fieldOffset + 4 > tableBytes) return MALFORMED;
  const at = table + fieldOffset;
  const vector = at + <u64>load<u32>(messagePtr + <usize>at);
  if (vector + 4 > len) return MALFORMED;
  const count = <u64>load<u32>(messagePtr + <usize>vector);
  if (vector + 4 + count * elementBytes > len) return MALFORMED;
  return <i64>vector;
}

/**
 * Checks the `len` bytes at messagePtr. On success returns the number of events and writes, for
 * each point_id, its (offset, length) within the message to the point-id spans; the host decodes
 * those strings, maps them to dense point indexes and writes the point-id map before fbIngest.
 */
export function fbValidate(len: i32): i32 {
  fbValid = false;
  fbEventCount = 0;
  fbPointIdCount = 0;
  if (len < 0 || len > messageCapacity) return FB_TOO_LARGE;
  if (len < 8) return FB_TRUNCATED;
  const n = <u64>len;
  if (load<u32>(messagePtr, 4) != FILE_IDENTIFIER) return FB_BAD_IDENTIFIER;

  const table = <u64>load<u32>(messagePtr);
  if (table < 8 || table + 4 > n) return FB_BAD_ROOT;
  const vtable = <i64>table - <i64>load<i32>(messagePtr + <usize>table);
  if (vtable < 0 || <u64>vtable + 4 > n) return FB_BAD_VTABLE;
  const vt = <u64>vtable;
  const vtableBytes = <u64>load<u16>(messagePtr + <usize>vt);
  const tableBytes = <u64>load<u16>(messagePtr + <usize>vt, 2);
  if (vtableBytes < 4 || (vtableBytes & 1) != 0 || vt + vtableBytes > n) return FB_BAD_VTABLE;
  if (tableBytes < 4 || table + tableBytes > n) return FB_BAD_VTABLE;

  const ids = vectorAt(n, table, tableBytes, vt, vtableBytes, FIELD_POINT_IDS, 4);
  if (ids == MALFORMED) return FB_BAD_VECTOR;
  const events = vectorAt(n, table, tableBytes, vt, vtableBytes, FIELD_EVENTS, <u64>LOOP_EVENT_BYTES);
  if (events == MALFORMED) return FB_BAD_VECTOR;

  let idCount = 0;
  if (ids != ABSENT) {
    const idVector = <u64>ids;
    const count = load<u32>(messagePtr + <usize>idVector);
    if (count > <u32>pointIdCapacity) return FB_TOO_MANY_POINT_IDS;
    idCount = <i32>count;
    for (let i = 0; i < idCount; i++) {
      const at = idVector + 4 + 4 * <u64>i;
      const str = at + <u64>load<u32>(messagePtr + <usize>at);
      if (str + 4 > n) return FB_BAD_STRING;
      const strLen = <u64>load<u32>(messagePtr + <usize>str);
      // The terminating zero must lie inside the message too.
      if (str + 4 + strLen + 1 > n) return FB_BAD_STRING;
      const span = pointIdSpansPtr + (<usize>i << 3);
      store<i32>(span, <i32>(str + 4));
      store<i32>(span, <i32>strLen, 4);
    }
  }
  let eventCount = 0;
  if (events != ABSENT) {
    fbEventsAt = <u64>events + 4;
    // Bounded by len / 72 < 2^31 by vectorAt's check.
    eventCount = <i32>load<u32>(messagePtr + <usize>events);
  }
  fbPointIdCount = idCount;
  fbEventCount = eventCount;
  fbValid = true;
  return eventCount;
}

/**
 * Copies events [first, first + count) of the validated message into the input columns (index 0
 * upward): point via the point-id map (a point_ref without an id becomes -1, an unknown point),
 * every partition slot = `partition`. Returns count, or FB_BAD_RANGE.
 */
export function fbFill(first: i32, count: i32, partition: i32): i32 {
  if (!fbValid || first < 0 || count < 0 || count > batchCapacity || first > fbEventCount - count) return FB_BAD_RANGE;
  const cTIn1 = f64Column(COL_T_IN_1);
  const cTOut1 = f64Column(COL_T_OUT_1);
  const cTIn2 = f64Column(COL_T_IN_2);
  const cTOut2 = f64Column(COL_T_OUT_2);
  const cSpeed = f64Column(COL_SPEED);
  const cGapM = f64Column(COL_GAP_M);
  const cGapS = f64Column(COL_GAP_S);
  const cLength = f64Column(COL_LENGTH);
  const cPoint = i32Column(COL_POINT);
  const cLane = i32Column(COL_LANE);
  const cPartition = i32Column(COL_PARTITION);
  const idCount = <u32>fbPointIdCount;
  let ev = messagePtr + <usize>fbEventsAt + <usize>first * <usize>LOOP_EVENT_BYTES;
  for (let i = 0; i < count; i++) {
    const o8 = <usize>i << 3;
    const o4 = <usize>i << 2;
    store<f64>(cTIn1 + o8, load<f64>(ev));
    store<f64>(cTOut1 + o8, load<f64>(ev, 8));
    store<f64>(cTIn2 + o8, load<f64>(ev, 16));
    store<f64>(cTOut2 + o8, load<f64>(ev, 24));
    store<f64>(cSpeed + o8, load<f64>(ev, 32));
    store<f64>(cGapM + o8, load<f64>(ev, 40));
    store<f64>(cGapS + o8, load<f64>(ev, 48));
    store<f64>(cLength + o8, load<f64>(ev, 56));
    const ref = load<u32>(ev, 64);
    store<i32>(cPoint + o4, ref < idCount ? load<i32>(pointIdMapPtr + (<usize>ref << 2)) : -1);
    store<i32>(cLane + o4, load<i32>(ev, 68));
    store<i32>(cPartition + o4, partition);
    ev += <usize>LOOP_EVENT_BYTES;
  }
  return count;
}
