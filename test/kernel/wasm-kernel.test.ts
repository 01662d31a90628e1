import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeLoopEventBatch } from '../../src/codec/loop-event-batch.js';
import { ErrorCodes, KernelError, SaferoadsError } from '../../src/errors.js';
import { EVENT_F64_COLUMNS, EVENT_I32_COLUMNS, Reason, ROW_F64, type ReasonCode } from '../../src/kernel/contract.js';
import type { KernelOutput } from '../../src/kernel/kernel.js';
import {
  expectedKernelConstants,
  loadKernelModule,
  verifyKernelConstants,
  WasmKernel,
  type KernelOutputSlice,
} from '../../src/kernel/wasm-kernel.js';
import { eventColumns, type LoopEvent as Ev } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { ev, OPTIONS, SPEC } from './fixtures.js';

/*
 * The WASM kernel on its own: loading, the contract constants, every rejection reason, init-time
 * capacity errors, hand-computed statistics, output-buffer resumption and the FlatBuffers path
 * (including malformed messages). Agreement with the TS reference on random streams is
 * kernel-vs-reference.test.ts.
 */

interface WasmApi {
  Instance: new (module: unknown, imports: object) => { exports: Record<string, unknown> };
  Global: new (descriptor: { value: string }, value: number) => { value: unknown };
}

/** Packs plain events into a fresh batch (the reference module's helper). */
const columns = eventColumns;

function kernel(options: Partial<ConstructorParameters<typeof WasmKernel>[0]> = {}): WasmKernel {
  const k = new WasmKernel({ ...OPTIONS, ...options });
  k.setPoint(0, 80);
  k.setPoint(1, null);
  return k;
}

/** Bytes of a point entry (assembly/points.ts): 16 + 4 per ring slot, rounded up to a power of two >= 64. */
const entryBytes = (ringPanes: number): number => Math.max(64, 2 ** Math.ceil(Math.log2(16 + 4 * ringPanes)));

const reasons = (out: KernelOutput): Array<[number, ReasonCode]> => out.rejections.map((r) => [r.index, r.reason]);

describe('loading and constants', () => {
  it('loads build/kernel.wasm and exports every contract constant with the contract value', () => {
    // The project's libs (ES2023 + Node types) do not declare WebAssembly; the runtime has it.
    const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const k = kernel();
    expect(k.watermark).toBe(-Infinity);
    // 256-byte panes and a point entry of 16 bytes + 4 per ring slot, rounded up to a power of two >= 64.
    expect(k.bytesPerPoint).toBe(SPEC.ringPanes * 256 + entryBytes(SPEC.ringPanes));
    expect(new WasmKernel({ ...OPTIONS, spec: windowSpec() }).bytesPerPoint).toBe(12 * 256 + 64);
    const exports = new WebAssembly.Instance(loadKernelModule(), {}).exports as Record<string, { value: unknown }>;
    const expected = expectedKernelConstants();
    expect(Object.keys(expected)).toContain('REASON_PANE_FULL');
    expect(Object.keys(expected)).toContain('COL_T_OUT_2');
    for (const [name, value] of Object.entries(expected)) expect(exports[name]?.value, name).toBe(value);
  });

  it('refuses a module whose constants differ from contract.ts', () => {
    const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const exports = new WebAssembly.Instance(loadKernelModule(), {}).exports as Record<string, unknown>;
    expect(() => verifyKernelConstants(exports)).not.toThrow();
    const stale = { ...exports, REASON_LATE: new WebAssembly.Global({ value: 'i32' }, 42) };
    expect(() => verifyKernelConstants(stale)).toThrow(/REASON_LATE: wasm 42, contract 9/);
    const { ROW_F64: _dropped, ...missing } = exports;
    expect(() => verifyKernelConstants(missing)).toThrow(KernelError);
  });

  it('throws KernelError when the wasm file is missing', () => {
    expect(() => new WasmKernel({ ...OPTIONS, wasmPath: '/nonexistent/kernel.wasm' })).toThrow(/npm run build:wasm/);
  });
});

describe('init capacity', () => {
  it('refuses a ring that cannot fit a wasm32 memory, with sizes in the message', () => {
    const spec = windowSpec({ advanceS: 1, shortS: 60, longS: 3600, graceS: 30, leadS: 60 });
    let error: unknown;
    try {
      new WasmKernel({ spec, pointCapacity: 10_000, partitions: 1, startWallClockS: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe(ErrorCodes.KERNEL);
    expect((error as Error).message).toMatch(/4 GiB/);
    expect((error as Error).message).toContain(`${spec.ringPanes * 256 + entryBytes(spec.ringPanes)} bytes/point`);
  });

  it('refuses fewer row slots than points and nonsense capacities', () => {
    expect(() => new WasmKernel({ ...OPTIONS, rowCapacity: 3 })).toThrow(/rowCapacity is smaller than pointCapacity/);
    expect(() => new WasmKernel({ ...OPTIONS, pointCapacity: 0 })).toThrow(KernelError);
    expect(() => new WasmKernel({ ...OPTIONS, batchCapacity: 1.5 })).toThrow(KernelError);
    expect(() => new WasmKernel({ ...OPTIONS, batchCapacity: (1 << 20) + 1 })).toThrow(/batchCapacity must be an integer in 1\.\.1048576/);
  });

  it('reports the memory it laid out', () => {
    const k = kernel();
    expect(k.memoryBytes).toBeGreaterThan(OPTIONS.pointCapacity * k.bytesPerPoint);
  });
});

describe('rejections', () => {
  it('triggers every reason code, in the contract order, and a refused event changes nothing', () => {
    const k = kernel({ spec: windowSpec({ ...SPEC, maxSkewS: 3600 }), partitions: 1 });
    const first = k.ingest(columns([ev(1000)]), 1000); // W = 990, oldest unemitted end 1020
    expect(first.rejections).toEqual([]);
    expect(k.watermark).toBe(990);
    const out = k.ingest(
      columns([
        ev(1001, { speed: NaN, point: 3 }), // NaN first, although the point is unknown too
        ev(1001, { gapS: Infinity }),
        ev(1001, { point: 3, lane: 0 }), // unregistered, although the lane is bad too
        ev(1001, { point: -1 }),
        ev(1001, { point: 4 }),
        ev(1001, { lane: 0, speed: -1 }),
        ev(1001, { lane: 9 }),
        ev(1001, { speed: -0.1, gapM: -1 }),
        ev(1001, { speed: 400.5 }),
        ev(1001, { gapM: -1, length: 101 }),
        ev(1001, { gapS: -0.5 }),
        ev(1001, { length: 100.01, tIn1: -1 }),
        ev(1001, { tIn2: -1 }),
        ev(1001, { tIn1: 1000, tOut1: 999 }), // left the first loop before entering it
        ev(5000), // > nowS + maxSkewS (3600 here)
        ev(959.9), // pane [900, 960) ended before W = 990
        ev(1140), // pane 19 = first pane needed by end 1020 (14) + ring (5)
        ev(1019.5, { point: 1 }),
        ev(1139.9), // pane 18: the last one inside the ring
      ]),
      1000,
    );
    expect(reasons(out)).toEqual([
      [0, Reason.NOT_FINITE],
      [1, Reason.NOT_FINITE],
      [2, Reason.UNKNOWN_POINT],
      [3, Reason.UNKNOWN_POINT],
      [4, Reason.UNKNOWN_POINT],
      [5, Reason.LANE_OUT_OF_RANGE],
      [6, Reason.LANE_OUT_OF_RANGE],
      [7, Reason.SPEED_OUT_OF_RANGE],
      [8, Reason.SPEED_OUT_OF_RANGE],
      [9, Reason.NEGATIVE_GAP],
      [10, Reason.NEGATIVE_GAP],
      [11, Reason.LENGTH_OUT_OF_RANGE],
      [12, Reason.BAD_TIMESTAMPS],
      [13, Reason.BAD_TIMESTAMPS],
      [14, Reason.TOO_FAR_AHEAD],
      [15, Reason.LATE],
      [16, Reason.BEYOND_RING],
    ]);
    // The last event moved W to 1129.9: ends 1020 and 1080 became final.
    expect(out.finalEnds).toEqual([1020, 1080]);
    expect(k.watermark).toBeCloseTo(1129.9, 9);
  });

  it('refused events leave watermark and panes untouched', () => {
    const k = kernel();
    k.ingest(columns([ev(1000)]), 1000);
    const refused = k.ingest(columns([ev(1200, { lane: 0 }), ev(1250, { speed: -1 }), ev(1300, { point: 2 })]), 1000);
    expect(refused.rejections).toHaveLength(3);
    expect(k.watermark).toBe(990);
    const rows = k.advanceWatermark(1020).rows;
    expect(rows.map((r) => [r.point, r.short.count])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('PANE_FULL: the 65536th vehicle of one pane of one point is refused', () => {
    const n = 65535 + 2;
    const events = Array.from({ length: n }, (_, i) => ev(1000 + (i % 19), { lane: 1 + (i % 8) }));
    events.push(ev(1000, { point: 1 })); // another point's pane is not full
    const k = kernel({ batchCapacity: 4096 });
    const out = k.ingest(columns(events), 1000);
    expect(reasons(out)).toEqual([
      [65535, Reason.PANE_FULL],
      [65536, Reason.PANE_FULL],
    ]);
    const rows = k.advanceWatermark(1020).rows;
    expect(rows[0].short.count).toBe(65535);
    expect(rows[1].short.count).toBe(1);
  });

  it('throws (before any state change) on a partition slot outside 0..partitions-1', () => {
    const k = kernel();
    expect(() => k.ingest(columns([ev(1000), ev(1001, { partition: 2 })]), 1000)).toThrow(/partition slot 2 of event 1/);
    expect(k.watermark).toBe(-Infinity);
    const small = kernel({ batchCapacity: 2 });
    expect(() => small.ingest(columns([ev(1000), ev(1000), ev(1000, { partition: -1 })]), 1000)).toThrow(KernelError);
    expect(small.watermark).toBe(-Infinity);
  });
});

describe('windows and statistics', () => {
  it('computes every statistic of a hand-made window', () => {
    const k = kernel();
    const out = k.ingest(
      columns([
        // pane [960, 1020): three vehicles on lanes 1 and 2
        ev(990, { speed: 70, gapM: 10, gapS: 0.5, length: 4, lane: 1, tIn1: 980, tOut1: 980.5 }),
        ev(1000, { speed: 90, gapM: 30, gapS: 1.5, length: 12, lane: 1, tIn1: 990, tOut1: 991 }),
        ev(1010, { speed: 110, gapM: 50, gapS: 3, length: 5, lane: 2, tIn1: 1000, tOut1: 1000.25 }),
        // pane [900, 960) is closed from the start (W0 = 980): late
        ev(959),
        // pane [1020, 1080): one more vehicle, moves W to 1090 → end 1020 and 1080 final
        ev(1100, { speed: 100 }),
      ]),
      1100,
    );
    expect(reasons(out)).toEqual([[3, Reason.LATE]]);
    expect(out.finalEnds).toEqual([1020, 1080]);
    const row = out.rows.find((r) => r.point === 0 && r.windowEnd === 1020)!;
    const s = row.short;
    expect(s.count).toBe(3);
    expect(s.flowVph).toBe(180);
    expect(s.meanSpeedKmh).toBe(90);
    expect(s.speedStdKmh).toBeCloseTo(Math.sqrt(800 / 3), 12);
    // bins: 70 → 17, 90 → 22, 110 → 27; rank 2.55 lies in bin 27 (cumBefore 2): 108 + 4 * 0.55
    expect(s.v85Kmh).toBeCloseTo(110.2, 12);
    expect(s.meanGapM).toBe(30);
    expect(s.minGapM).toBe(10);
    expect(s.meanGapS).toBeCloseTo(5 / 3, 12);
    expect(s.minGapS).toBe(0.5);
    expect(s.headwayLt1sShare).toBeCloseTo(1 / 3, 12);
    expect(s.headwayLt2sShare).toBeCloseTo(2 / 3, 12);
    expect(s.meanLengthM).toBe(7);
    expect(s.longVehicleShare).toBeCloseTo(1 / 3, 12);
    expect(s.occupancy).toBeCloseTo(1.75 / (60 * 2), 12);
    expect(s.overLimitShare).toBeCloseTo(2 / 3, 12); // 90 and 110 > 80
    expect(s.laneSpeedSpreadKmh).toBe(30); // lane 1 mean 80, lane 2 mean 110
    expect(s.lanes).toBe(2);
    expect(row.long.count).toBe(3);
    expect(row.long.lanes).toBe(2);
    expect(row.long.flowVph).toBe(60);
    expect(row.long.occupancy).toBeCloseTo(1.75 / (180 * 2), 12);

    // point 1: registered, no traffic, no allowed speed → count 0 row with nulls
    const empty = out.rows.find((r) => r.point === 1 && r.windowEnd === 1020)!;
    expect(empty.short).toMatchObject({ count: 0, flowVph: 0, meanSpeedKmh: null, overLimitShare: null });
    expect(Object.values(empty.long).filter((v) => v === null)).toHaveLength(14);
    expect(empty.long.lanes).toBe(0); // a number, like count and flow: no traffic is zero lanes
    // unregistered points 2, 3 get no rows; end 1080 has the long window spanning both panes
    expect(out.rows.map((r) => r.point)).toEqual([0, 1, 0, 1]);
    const later = out.rows.find((r) => r.point === 0 && r.windowEnd === 1080)!;
    expect(later.short.count).toBe(0);
    expect(later.short.lanes).toBe(0);
    expect(later.long.count).toBe(3);
    expect(later.long.lanes).toBe(2);
  });

  it('a silent partition holds the watermark until it turns idle', () => {
    const k = kernel();
    k.ingest(columns([ev(1000)]), 1000);
    k.ingest(columns([ev(1100)]), 1030);
    expect(k.watermark).toBe(990); // partition 1 never spoke and is not idle yet
    expect(k.tick(1059).finalEnds).toEqual([]);
    const released = k.tick(1060); // partition 1 silent since startWallClockS 1000
    expect(k.watermark).toBe(1090);
    expect(released.finalEnds).toEqual([1020, 1080]);
    expect(() => k.advanceWatermark(Infinity)).toThrow(KernelError);
  });

  it('resumes when the row buffer is full and gives the rows of one big buffer', () => {
    // Two hours of traffic on 3 points, every row buffer refill forces a resume.
    const events: Ev[] = [];
    for (let t = 1000; t < 8200; t += 7) {
      events.push(ev(t, { point: t % 3 === 0 ? 0 : 1, speed: 40 + (t % 90), lane: 1 + (t % 3) }));
    }
    const spec = windowSpec({ advanceS: 60, shortS: 60, longS: 600, graceS: 30, maxSkewS: 300, leadS: 60 });
    const run = (rowCapacity: number, finalEndCapacity: number, batchCapacity: number) => {
      const k = new WasmKernel({ ...OPTIONS, spec, partitions: 1, rowCapacity, finalEndCapacity, batchCapacity });
      k.setPoint(0, 80);
      k.setPoint(1, null);
      k.setPoint(3, 100);
      let slices = 0;
      const rows: number[] = [];
      const ends: number[] = [];
      const sink = {
        onOutput(s: KernelOutputSlice) {
          slices++;
          for (let i = 0; i < s.rowCount * ROW_F64; i++) rows.push(s.rows[i]);
          for (let i = 0; i < s.finalEndCount; i++) ends.push(s.finalEnds[i]);
        },
      };
      k.ingestColumns(columns(events), 9000, sink);
      const endsDuringIngest = k.lastCall.finalEnds;
      expect(k.lastCall.rows).toBe(3 * endsDuringIngest);
      k.advanceWatermarkInto(9000, sink);
      return { rows, ends, slices, endsDuringIngest, lastCall: { ...k.lastCall } };
    };
    const big = run(1 << 16, 1 << 12, 1 << 16);
    const small = run(4, 1, 333);
    expect(big.ends).toHaveLength(134); // 1020 .. 9000
    expect(big.rows.length).toBe(134 * 3 * ROW_F64);
    expect(small.slices).toBeGreaterThanOrEqual(134);
    expect(small.ends).toEqual(big.ends);
    expect(small.rows.map(String)).toEqual(big.rows.map(String)); // NaN-safe, exact
    expect(small.lastCall).toEqual({ rows: 3 * (134 - small.endsDuringIngest), rejections: 0, finalEnds: 134 - small.endsDuringIngest });
  });

  it('ingestInput reads events written straight into the input views', () => {
    const events = [ev(1000), ev(1001, { point: 1, lane: 2 }), ev(1002, { lane: 0 }), ev(1100, { speed: 99 })];
    const k = kernel();
    const cols = columns(events);
    EVENT_F64_COLUMNS.forEach((name, c) => k.inputF64[c].set(cols[name]));
    EVENT_I32_COLUMNS.forEach((name, c) => k.inputI32[c].set(cols[name]));
    const rows: number[] = [];
    let rejections = 0;
    k.ingestInput(events.length, 1100, {
      onOutput(s) {
        rejections += s.rejectionCount;
        for (let i = 0; i < s.rowCount * ROW_F64; i++) rows.push(s.rows[i]);
      },
    });
    const expected = kernel().ingest(cols, 1100);
    expect(rejections).toBe(1);
    expect(expected.rows).toHaveLength(4);
    expect(rows.length).toBe(expected.rows.length * ROW_F64);
    expect(rows[ROW_F64 + 1]).toBe(expected.rows[1].windowEnd);
    expect(() => k.ingestInput(k.batchCapacity + 1, 1100, { onOutput() {} })).toThrow(KernelError);
  });

  it('the same stream cut into random batches gives identical output', () => {
    const events: Ev[] = [];
    for (let i = 0; i < 400; i++) {
      const t = 1000 + i * 1.5 - (i % 7 === 0 ? 45 : 0);
      events.push(ev(t, { point: i % 5, partition: i % 2, speed: 30 + ((i * 37) % 120), lane: 1 + (i % 4) }));
    }
    const feed = (cuts: number[]) => {
      const k = kernel();
      const all: KernelOutput = { rejections: [], rows: [], finalEnds: [] };
      let i = 0;
      let c = 0;
      while (i < events.length) {
        const n = cuts.length === 0 ? events.length : cuts[c++ % cuts.length];
        const out = k.ingest(columns(events.slice(i, i + n)), 1700);
        all.rejections.push(...out.rejections.map((r) => ({ index: r.index + i, reason: r.reason })));
        all.rows.push(...out.rows);
        all.finalEnds.push(...out.finalEnds);
        i += n;
      }
      return all;
    };
    const whole = feed([]);
    expect(whole.rejections.length).toBeGreaterThan(0);
    expect(whole.rows.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 8 }), (cuts) => {
        expect(feed(cuts)).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });
});

describe('externalWatermark', () => {
  const row = (out: KernelOutput, point: number, end: number) => out.rows.find((r) => r.point === point && r.windowEnd === end)!;

  it('refuses events before the first advanceWatermark, which starts at the end of the pane holding it', () => {
    const k = kernel({ externalWatermark: true });
    expect(reasons(k.ingest(columns([ev(1000), ev(1100, { partition: 1 })]), 1000))).toEqual([
      [0, Reason.BEYOND_RING],
      [1, Reason.BEYOND_RING],
    ]);
    expect(k.tick(5000).finalEnds).toEqual([]);
    expect(k.watermark).toBe(-Infinity);
    expect(k.advanceWatermark(1005).finalEnds).toEqual([]); // pane [960, 1020): first end 1020
    expect(k.watermark).toBe(1005);
    // the ring is panes 14..18 = [840, 1140): 839.5 no window needs, 1140 is beyond it
    expect(reasons(k.ingest(columns([ev(839.5), ev(840), ev(1000), ev(1140), ev(1139)]), 1000))).toEqual([
      [0, Reason.LATE],
      [3, Reason.BEYOND_RING],
    ]);
    k.tick(2000);
    expect(k.watermark).toBe(1005); // events and ticks never move it
    const out = k.advanceWatermark(1140);
    expect(out.finalEnds).toEqual([1020, 1080, 1140]);
    expect(row(out, 0, 1020).short.count).toBe(1);
    expect(row(out, 0, 1020).long.count).toBe(2); // [840, 1020): 840 and 1000
    expect(row(out, 0, 1140).short.count).toBe(1);
    expect(k.advanceWatermark(1100).finalEnds).toEqual([]);
    expect(k.watermark).toBe(1140);
  });

  it('takes an event for a closed pane while a window to come still needs it', () => {
    const k = kernel({ externalWatermark: true });
    k.advanceWatermark(1005);
    k.advanceWatermark(1140); // ends 1020..1140 emitted; next end 1200 needs panes from [1020, ...)
    expect(reasons(k.ingest(columns([ev(1019.5), ev(1020), ev(1100)]), 1200))).toEqual([[0, Reason.LATE]]);
    const out = k.advanceWatermark(1200);
    expect(row(out, 0, 1200).long.count).toBe(2);
    expect(row(out, 0, 1200).short.count).toBe(0);
  });
});

describe('FlatBuffers input', () => {
  const ids = ['A1', 'B2', 'Ćwiartka-3'];
  const resolve = (id: string): number => ({ A1: 0, B2: 1, 'Ćwiartka-3': 3 })[id] ?? -1;
  /** Dense point of point_ref 0, 1, 2 (what resolve gives for ids[ref]). */
  const DENSE = [0, 1, 3];
  /** Events whose `point` is a point_ref into `ids`. */
  const refs = [
    ev(1000, { point: 0 }),
    ev(1001.25, { point: 1, lane: 3, speed: 123.5 }),
    ev(1002, { point: 2, gapS: NaN }),
    ev(1003, { point: 2 }),
    ev(1004, { point: 7 }), // point_ref beyond point_ids: an unknown point
    ev(1130, { point: 0, lane: 8 }),
  ];
  const dense = refs.map((e) => ({ ...e, point: DENSE[e.point] ?? -1 }));
  const fbKernel = (options: Partial<ConstructorParameters<typeof WasmKernel>[0]> = {}): WasmKernel => {
    const k = kernel(options);
    k.setPoint(3, 100);
    return k;
  };

  it('decodes into the same columns and gives the same output as ingesting columns', () => {
    const events = dense;
    const bytes = encodeLoopEventBatch(ids, columns(refs));
    const viaColumns = fbKernel().ingest(columns(events.map((e) => ({ ...e, partition: 1 }))), 1200);
    const k = fbKernel();
    expect(k.fillFromLoopEventBatch(bytes, 1, resolve)).toBe(events.length);
    EVENT_F64_COLUMNS.forEach((name, c) => {
      expect(Array.from(k.inputF64[c].subarray(0, events.length)), name).toEqual(events.map((e) => e[name]));
    });
    EVENT_I32_COLUMNS.forEach((name, c) => {
      const want = events.map((e) => (name === 'partition' ? 1 : e[name]));
      expect(Array.from(k.inputI32[c].subarray(0, events.length)), name).toEqual(want);
    });
    const viaFlatBuffers = fbKernel().ingestLoopEventBatchObjects(bytes, 1, 1200, resolve);
    expect(viaFlatBuffers).toEqual(viaColumns);
    expect(reasons(viaFlatBuffers)).toEqual([
      [2, Reason.NOT_FINITE],
      [4, Reason.UNKNOWN_POINT],
    ]);
    expect(viaFlatBuffers.finalEnds).toEqual([1020, 1080]);
  });

  it('splits messages longer than the batch capacity and keeps batch indexes', () => {
    const refs = Array.from({ length: 50 }, (_, i) => ev(1000 + i, { point: i % 2, lane: i === 33 ? 0 : 1 }));
    const bytes = encodeLoopEventBatch(['A1', 'B2'], columns(refs));
    const out = kernel({ batchCapacity: 8 }).ingestLoopEventBatchObjects(bytes, 0, 1100, resolve);
    expect(reasons(out)).toEqual([[33, Reason.LANE_OUT_OF_RANGE]]);
    expect(out).toEqual(kernel().ingest(columns(refs), 1100));
  });

  const expectDecodeError = (k: WasmKernel, bytes: Uint8Array, pattern: RegExp) => {
    let error: unknown;
    try {
      k.ingestLoopEventBatchObjects(bytes, 0, 1100, resolve);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SaferoadsError);
    expect((error as SaferoadsError).code).toBe(ErrorCodes.DECODE);
    expect((error as Error).message).toMatch(pattern);
  };

  it('refuses truncated, misidentified and out-of-bounds messages without trapping', () => {
    const good = encodeLoopEventBatch(ids, columns(refs));
    const k = fbKernel();
    let refused = 0;
    for (let n = 0; n < good.length; n += 1) {
      const code = k.ingestLoopEventBatch(good.subarray(0, n), 0, 1100, resolve, { onOutput() {} });
      if (code < 0) refused++;
      // Only the alignment padding after the last string may be cut off.
      if (code >= 0) expect(good.length - n <= 3 && good.subarray(n).every((b) => b === 0), `prefix of ${n}`).toBe(true);
    }
    expect(refused).toBeGreaterThanOrEqual(good.length - 3);
    k.resetStream();
    expectDecodeError(k, good.subarray(0, 4), /truncated/);
    const wrongId = good.slice();
    wrongId[5] = 0x58;
    expectDecodeError(k, wrongId, /identifier/);

    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const rootOut = good.slice();
    view(rootOut).setUint32(0, good.length - 2, true);
    expectDecodeError(k, rootOut, /root table/);

    const table = view(good).getUint32(0, true);
    const vtableOut = good.slice();
    view(vtableOut).setInt32(table, -good.length, true);
    expectDecodeError(k, vtableOut, /vtable/);

    // events vector offset pointing past the end
    const vt = table - view(good).getInt32(table, true);
    const eventsField = table + view(good).getUint16(vt + 6, true);
    const vectorOut = good.slice();
    view(vectorOut).setUint32(eventsField, good.length, true);
    expectDecodeError(k, vectorOut, /vector/);
    // events vector length larger than the message holds
    const lengthOut = good.slice();
    const eventsVector = eventsField + view(good).getUint32(eventsField, true);
    view(lengthOut).setUint32(eventsVector, 0x7fffffff, true);
    expectDecodeError(k, lengthOut, /vector/);
    // a point_id string whose length runs past the end
    const idsField = table + view(good).getUint16(vt + 4, true);
    const idsVector = idsField + view(good).getUint32(idsField, true);
    const firstString = idsVector + 4 + view(good).getUint32(idsVector + 4, true);
    const stringOut = good.slice();
    view(stringOut).setUint32(firstString, 1 << 30, true);
    expectDecodeError(k, stringOut, /string/);

    // nothing was applied, and the kernel still works
    expect(k.watermark).toBe(-Infinity);
    expect(k.ingestLoopEventBatchObjects(good, 0, 1100, resolve).rejections).toHaveLength(2);
  });

  it('random and randomly corrupted bytes give a result or an error code, never a trap', () => {
    const good = encodeLoopEventBatch(ids, columns(refs));
    const k = fbKernel({ messageCapacity: 4096 });
    const sink = { onOutput() {} };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 8, maxLength: 300 }).map((b) => {
            b.set([0x53, 0x52, 0x4c, 0x45], 4);
            return b;
          }),
          fc
            .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
            .map((edits) => {
              const b = good.slice();
              for (const [at, value] of edits) b[at] = value;
              return b;
            }),
        ),
        (bytes) => {
          k.resetStream();
          const code = k.ingestLoopEventBatch(bytes, 0, 1100, resolve, sink);
          expect(Number.isInteger(code)).toBe(true);
          if (code < 0) expect(k.watermark).toBe(-Infinity);
        },
      ),
      { numRuns: 2000 },
    );
    expect(k.ingestLoopEventBatch(new Uint8Array(5000), 0, 1100, resolve, sink)).toBe(-1); // > messageCapacity
  });
});
