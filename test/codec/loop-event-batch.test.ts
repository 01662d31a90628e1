import fc from 'fast-check';
import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { allocateEventColumns } from '../../src/kernel/kernel.js';
import {
  decodeLoopEventBatch,
  encodeLoopEventBatch,
  hasLoopEventBatchIdentifier,
  LOOP_EVENT_BYTES,
  LoopEvent,
  LoopEventBatch,
  verifyLoopEventBatch,
} from '../../src/codec/loop-event-batch.js';
import { ErrorCodes, SaferoadsError } from '../../src/errors.js';
import { EVENT_F64_COLUMNS, type EventF64Column } from '../../src/kernel/contract.js';
import type { EventColumns } from '../../src/kernel/kernel.js';
import { WasmKernel } from '../../src/kernel/wasm-kernel.js';
import { windowSpec } from '../../src/kernel/window-spec.js';

/*
 * The LoopEventBatch codec (schema/loop_event_batch.fbs): round trips, the flatc-style accessors,
 * and that the TS verifier and the WASM decoder accept and refuse exactly the same bytes.
 */

const eventArb = fc.record({
  tIn1: fc.double(),
  tOut1: fc.double(),
  tIn2: fc.double(),
  tOut2: fc.double(),
  speed: fc.double(),
  gapM: fc.double(),
  gapS: fc.double(),
  length: fc.double(),
  point: fc.integer({ min: -1, max: 20 }),
  lane: fc.integer(),
});
type Ev = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function toColumns(events: readonly Ev[]): EventColumns {
  const c = allocateEventColumns(events.length);
  c.count = events.length;
  events.forEach((e, i) => {
    for (const name of EVENT_F64_COLUMNS) c[name][i] = e[name];
    c.point[i] = e.point;
    c.lane[i] = e.lane;
  });
  return c;
}

describe('LoopEventBatch codec', () => {
  it('round-trips point ids and every column bit for bit (NaN, ±0, ±Infinity included)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 6 }), fc.array(eventArb, { maxLength: 40 }), (ids, events) => {
        const bytes = encodeLoopEventBatch(ids, toColumns(events));
        expect(hasLoopEventBatchIdentifier(bytes)).toBe(true);
        const { pointIds, columns } = decodeLoopEventBatch(bytes, 3);
        expect(pointIds).toEqual(ids);
        expect(columns.count).toBe(events.length);
        events.forEach((e, i) => {
          for (const name of EVENT_F64_COLUMNS) expect(Object.is(columns[name as EventF64Column][i], e[name])).toBe(true);
          expect(columns.point[i]).toBe(e.point);
          expect(columns.lane[i]).toBe(e.lane);
          expect(columns.partition[i]).toBe(3);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('flatc-style accessors read what the encoder wrote', () => {
    const c = toColumns([
      { tIn1: 1, tOut1: 2, tIn2: 3, tOut2: 4, speed: 5, gapM: 6, gapS: 7, length: 8, point: 1, lane: 2 },
    ]);
    const bytes = encodeLoopEventBatch(['x', 'yz'], c);
    const bb = new flatbuffers.ByteBuffer(bytes);
    expect(LoopEventBatch.bufferHasIdentifier(bb)).toBe(true);
    const batch = LoopEventBatch.getRootAsLoopEventBatch(bb);
    expect(batch.pointIdsLength()).toBe(2);
    expect(batch.pointIds(1)).toBe('yz');
    expect(batch.eventsLength()).toBe(1);
    const e = batch.events(0, new LoopEvent())!;
    expect([e.tIn1(), e.tOut1(), e.tIn2(), e.tOut2(), e.speed(), e.gapMeters(), e.gapSeconds(), e.length()]).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect([e.pointRef(), e.lane()]).toEqual([1, 2]);
    expect(LoopEvent.sizeOf()).toBe(LOOP_EVENT_BYTES);
    // The struct vector is 8-byte aligned, as the WASM decoder's f64 loads prefer.
    expect(verifyLoopEventBatch(bytes).eventsAt % 8).toBe(0);
  });

  it('an empty batch and a table without fields decode as empty', () => {
    expect(decodeLoopEventBatch(encodeLoopEventBatch([], toColumns([]))).columns.count).toBe(0);
    const b = new flatbuffers.Builder(64);
    LoopEventBatch.startLoopEventBatch(b);
    LoopEventBatch.finishLoopEventBatchBuffer(b, LoopEventBatch.endLoopEventBatch(b));
    const decoded = decodeLoopEventBatch(b.asUint8Array());
    expect(decoded.pointIds).toEqual([]);
    expect(decoded.columns.count).toBe(0);
  });

  it('hasLoopEventBatchIdentifier looks at bytes 4..7 only', () => {
    expect(hasLoopEventBatchIdentifier(new Uint8Array([0, 0, 0, 0, 0x53, 0x52, 0x4c, 0x45]))).toBe(true);
    expect(hasLoopEventBatchIdentifier(new Uint8Array([0, 0, 0, 0, 0x53, 0x52, 0x4c]))).toBe(false);
    expect(hasLoopEventBatchIdentifier(new TextEncoder().encode('{"point_id":"A1"}'))).toBe(false);
  });

  it('malformed messages throw SaferoadsError(DECODE)', () => {
    const good = encodeLoopEventBatch(['A'], toColumns([]));
    for (const bad of [good.subarray(0, 6), new Uint8Array(16), Uint8Array.from(good, (b, i) => (i < 4 ? 0xff : b))]) {
      let error: unknown;
      try {
        decodeLoopEventBatch(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SaferoadsError);
      expect((error as SaferoadsError).code).toBe(ErrorCodes.DECODE);
    }
  });

  it('the TS verifier and the WASM decoder accept and refuse the same bytes', () => {
    const spec = windowSpec();
    const kernel = new WasmKernel({ spec, pointCapacity: 4, partitions: 1, startWallClockS: 0, messageCapacity: 1 << 16 });
    const good = encodeLoopEventBatch(['A1', 'B22', 'C333'], toColumns([]));
    const withEvents = encodeLoopEventBatch(
      ['A1'],
      toColumns([{ tIn1: 1, tOut1: 2, tIn2: 3, tOut2: 4, speed: 5, gapM: 6, gapS: 7, length: 8, point: 0, lane: 1 }]),
    );
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(good, withEvents),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (base, edits, cut) => {
          const bytes = base.slice(0, base.length - (cut % 4 === 0 ? cut % base.length : 0));
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          let tsOk = true;
          try {
            verifyLoopEventBatch(bytes);
          } catch {
            tsOk = false;
          }
          kernel.resetStream();
          const code = kernel.fillFromLoopEventBatch(bytes, 0, () => 0);
          if (code >= 0) accepted++;
          expect(code >= 0).toBe(tsOk);
        },
      ),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
