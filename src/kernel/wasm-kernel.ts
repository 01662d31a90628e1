import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, KernelError, SaferoadsError } from '../errors.js';
import {
  EVENT_F64_COLUMNS,
  EVENT_I32_COLUMNS,
  LONG_VEHICLE_M,
  MAX_LANES,
  MAX_LENGTH_M,
  MAX_SPEED_KMH,
  PANE_COUNTER_MAX,
  Reason,
  ROW_F64,
  ROW_LONG,
  ROW_POINT,
  ROW_SHORT,
  ROW_WINDOW_END,
  SPEED_BIN_KMH,
  SPEED_BINS,
  WINDOW_STAT_FIELDS,
  type EventF64Column,
  type EventI32Column,
  type ReasonCode,
  type Rejection,
  type WindowRow,
  type WindowStats,
} from './contract.js';
import type { EventColumns, KernelOptions, KernelOutput, WindowKernel } from './kernel.js';

/**
 * Host side of the AssemblyScript window kernel (assembly/). Two APIs over one instance:
 * - the hot path (`ingestColumns`, `ingestLoopEventBatch`, `tickInto`, `advanceWatermarkInto`):
 *   one TypedArray.set per column, one WASM call per batch chunk, output handed to a sink as
 *   typed-array views over WASM memory, no allocation per event or per row;
 * - the WindowKernel interface (object rows, NaN → null) that tests share with the TS reference.
 */

// The project's type libraries (ES2023 + @types/node 20) do not declare WebAssembly: the little used
// here is declared by hand.
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Global: abstract new (...args: never[]) => { value: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type Fn = (...args: number[]) => number;
interface KernelExports {
  memory: { readonly buffer: ArrayBuffer };
  init: Fn;
  reset: Fn;
  setPoint: Fn;
  ingest: Fn;
  tick: Fn;
  advanceWatermark: Fn;
  flush: Fn;
  owesEnds: Fn;
  fbValidate: Fn;
  fbFill: Fn;
  fbIngest: Fn;
  bytesPerPoint: Fn;
  bytesPerPointFor: Fn;
  requestedBytes: Fn;
  currentWatermark: Fn;
  registeredPoints: Fn;
  rowsWritten: Fn;
  rejectionsWritten: Fn;
  finalEndsWritten: Fn;
  messagePointIds: Fn;
  f64ColumnPtr: Fn;
  i32ColumnPtr: Fn;
  rejectionsPtr: Fn;
  rowsPtr: Fn;
  finalEndsPtr: Fn;
  pointIdSpansPtr: Fn;
  pointIdMapPtr: Fn;
  messagePtr: Fn;
  [global: string]: unknown;
}

export interface WasmKernelOptions extends KernelOptions {
  /**
   * Events copied into WASM memory per call (at most the module's MAX_BATCH_EVENTS, 2^20); longer
   * batches are cut into chunks. Default 65536.
   */
  batchCapacity?: number;
  /** Row slots; must be at least pointCapacity (one window end). Default max(2 × points, 1024). */
  rowCapacity?: number;
  /** Final-end slots per drain. Default rowCapacity. */
  finalEndCapacity?: number;
  /** Distinct point_id strings one FlatBuffers message may carry. Default max(points, 4096). */
  pointIdCapacity?: number;
  /** Largest FlatBuffers message in bytes. Default batchCapacity × 72 + pointIdCapacity × 64 + 64 KiB. */
  messageCapacity?: number;
  /** Path of kernel.wasm; default build/kernel.wasm under the package root. */
  wasmPath?: string;
}

/** One slice of kernel output. Views are over WASM memory and valid only during onOutput. */
export interface KernelOutputSlice {
  /** rowCount rows of ROW_F64 f64 each (NaN = null). */
  rows: Float64Array;
  rowCount: number;
  /** rejectionCount (index, reason) pairs; index + rejectionBase = index in the caller's batch. */
  rejections: Int32Array;
  rejectionCount: number;
  rejectionBase: number;
  finalEnds: Float64Array;
  finalEndCount: number;
}

/** What the last hot-path call produced in total (one reused object: no allocation). */
export interface KernelCallCounts {
  rows: number;
  rejections: number;
  finalEnds: number;
}

export interface KernelOutputSink {
  onOutput(slice: KernelOutputSlice): void;
}

/** Maps a point_id string of a FlatBuffers message to a dense point index (-1: unknown). */
export type PointResolver = (pointId: string) => number;

const PARTITION_COLUMN = EVENT_I32_COLUMNS.indexOf('partition');

/** ingest()'s answer to a range outside the input columns (assembly/ingest.ts). */
const INGEST_BAD_RANGE = -0x80000000;

const INIT_ERRORS: Record<number, string> = {
  1: 'the instance was already initialised',
  2: 'an argument is out of range',
  3: 'the memory layout exceeds the 4 GiB a wasm32 memory can address',
  4: 'memory.grow failed (the engine or machine could not provide the memory)',
  5: 'rowCapacity is smaller than pointCapacity, so one window end could never be emitted',
};

const FB_ERRORS: Record<number, string> = {
  [-1]: 'message larger than messageCapacity',
  [-2]: 'message truncated (shorter than a FlatBuffers header)',
  [-3]: 'wrong file identifier (expected "SRLE")',
  [-4]: 'root table offset out of bounds',
  [-5]: 'vtable out of bounds',
  [-6]: 'vector out of bounds',
  [-7]: 'string out of bounds',
  [-8]: 'more point_ids than pointIdCapacity',
  [-9]: 'event range or partition out of bounds',
};

/** Describes a negative result of ingestLoopEventBatch. */
export function loopEventBatchErrorMessage(code: number): string {
  return FB_ERRORS[code] ?? `unknown decoder error ${code}`;
}

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new KernelError('cannot find the package root (package.json) above ' + dir);
    dir = parent;
  }
}

const modules = new Map<string, WasmModule>();

/** Compiles kernel.wasm once per path (synchronously: the kernel is needed before anything runs). */
export function loadKernelModule(wasmPath = path.join(packageRoot(), 'build', 'kernel.wasm')): WasmModule {
  let module = modules.get(wasmPath);
  if (module === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPath);
    } catch (cause) {
      throw new KernelError(`cannot read ${wasmPath}; run \`npm run build:wasm\` first`, { cause });
    }
    try {
      module = new wasm.Module(bytes);
    } catch (cause) {
      throw new KernelError(`${wasmPath} is not a valid WebAssembly module`, { cause });
    }
    modules.set(wasmPath, module);
  }
  return module;
}

/** The values the WASM module must export for contract.ts; a mismatch means a stale build. */
export function expectedKernelConstants(): Record<string, number> {
  const expected: Record<string, number> = {
    MAX_LANES,
    MAX_SPEED_KMH,
    MAX_LENGTH_M,
    LONG_VEHICLE_M,
    SPEED_BIN_KMH,
    SPEED_BINS,
    PANE_COUNTER_MAX,
    STAT_FIELDS: WINDOW_STAT_FIELDS.length,
    // The kernel writes 0 (not NaN) there for an empty window; its position must be the contract's.
    STAT_LANES: WINDOW_STAT_FIELDS.indexOf('lanes'),
    ROW_POINT,
    ROW_WINDOW_END,
    ROW_SHORT,
    ROW_LONG,
    ROW_F64,
    EVENT_F64_COLUMNS: EVENT_F64_COLUMNS.length,
    EVENT_I32_COLUMNS: EVENT_I32_COLUMNS.length,
  };
  for (const [name, code] of Object.entries(Reason)) expected[`REASON_${name}`] = code;
  const columnGlobal = (name: string): string => 'COL_' + name.replace(/([A-Z])/g, '_$1').replace(/(\d)/g, '_$1').toUpperCase();
  EVENT_F64_COLUMNS.forEach((name, i) => (expected[columnGlobal(name)] = i));
  EVENT_I32_COLUMNS.forEach((name, i) => (expected[columnGlobal(name)] = i));
  return expected;
}

/** Throws KernelError listing every constant the module lacks or has with another value. */
export function verifyKernelConstants(exports: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expectedKernelConstants())) {
    const global = exports[name];
    const got = global instanceof wasm.Global ? Number(global.value) : undefined;
    if (got !== want) problems.push(`${name}: wasm ${got === undefined ? 'missing' : got}, contract ${want}`);
  }
  if (problems.length > 0) {
    throw new KernelError(`kernel.wasm does not match src/kernel/contract.ts (rebuild it): ${problems.join('; ')}`);
  }
}

function globalValue(exports: Record<string, unknown>, name: string): number {
  const global = exports[name];
  if (!(global instanceof wasm.Global)) throw new KernelError(`kernel.wasm does not export ${name}`);
  return Number(global.value);
}

function positiveInt(name: string, value: number, max = 0x7fffffff): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new KernelError(`${name} must be an integer in 1..${max} (got ${String(value)})`);
  }
  return value;
}

function finiteNumber(name: string, value: number): number {
  if (!Number.isFinite(value)) throw new KernelError(`${name} must be a finite number (got ${String(value)})`);
  return value;
}

export class WasmKernel implements WindowKernel {
  readonly options: Readonly<WasmKernelOptions>;
  readonly batchCapacity: number;
  readonly rowCapacity: number;
  readonly finalEndCapacity: number;
  readonly pointIdCapacity: number;
  readonly messageCapacity: number;
  /** Fixed bytes each point costs: ringPanes × PANE_BYTES + its point entry (assembly/layout.ts). */
  readonly bytesPerPoint: number;
  /** Bytes of WASM memory the layout uses. */
  readonly memoryBytes: number;

  private readonly ex: KernelExports;
  private buffer: ArrayBuffer | undefined;
  private f64Inputs: Float64Array[] = [];
  private i32Inputs: Int32Array[] = [];
  private message!: Uint8Array;
  private pointIdSpans!: Int32Array;
  private pointIdMap!: Int32Array;
  private readonly slice: KernelOutputSlice;
  /** Totals of the last ingest*, tickInto or advanceWatermarkInto call, over all its slices. */
  readonly lastCall: KernelCallCounts = { rows: 0, rejections: 0, finalEnds: 0 };
  private readonly textDecoder = new TextDecoder();

  constructor(options: WasmKernelOptions) {
    this.options = options;
    const { spec } = options;
    const points = positiveInt('pointCapacity', options.pointCapacity);
    const partitions = positiveInt('partitions', options.partitions);
    finiteNumber('startWallClockS', options.startWallClockS);
    const instance = new wasm.Instance(loadKernelModule(options.wasmPath), {});
    this.ex = instance.exports as unknown as KernelExports;
    verifyKernelConstants(this.ex);
    this.batchCapacity = positiveInt('batchCapacity', options.batchCapacity ?? 65536, globalValue(this.ex, 'MAX_BATCH_EVENTS'));
    this.rowCapacity = positiveInt('rowCapacity', options.rowCapacity ?? Math.max(points * 2, 1024));
    this.finalEndCapacity = positiveInt('finalEndCapacity', options.finalEndCapacity ?? this.rowCapacity);
    this.pointIdCapacity = positiveInt('pointIdCapacity', options.pointIdCapacity ?? Math.max(points, 4096));
    this.messageCapacity = positiveInt(
      'messageCapacity',
      options.messageCapacity ?? Math.min(this.batchCapacity * 72 + this.pointIdCapacity * 64 + 65536, 0x7fffffff),
    );

    this.bytesPerPoint = this.ex.bytesPerPointFor(spec.ringPanes);

    const code = this.ex.init(
      points,
      partitions,
      spec.advanceS,
      spec.shortPanes,
      spec.longPanes,
      spec.ringPanes,
      spec.graceS,
      spec.maxSkewS,
      spec.idleTimeoutS,
      options.startWallClockS,
      this.batchCapacity,
      this.rowCapacity,
      this.finalEndCapacity,
      this.pointIdCapacity,
      this.messageCapacity,
      options.externalWatermark === true ? 1 : 0,
    );
    this.memoryBytes = this.ex.requestedBytes();
    if (code !== 0) {
      const gib = (this.memoryBytes / 2 ** 30).toFixed(2);
      throw new KernelError(
        `window kernel init failed: ${INIT_ERRORS[code] ?? `code ${code}`} — ${points} points × ${this.bytesPerPoint} ` +
          `bytes/point (ring of ${spec.ringPanes} panes) plus buffers need ${this.memoryBytes} bytes (${gib} GiB); ` +
          'lower pointCapacity, the ring (longS, graceS, leadS) or the batch/row capacities',
      );
    }
    this.slice = {
      rows: new Float64Array(0),
      rowCount: 0,
      rejections: new Int32Array(0),
      rejectionCount: 0,
      rejectionBase: 0,
      finalEnds: new Float64Array(0),
      finalEndCount: 0,
    };
    this.refreshViews();
  }

  // ---- hot path -------------------------------------------------------------------------------

  /** Input column views over WASM memory (index = column order of contract.ts). */
  get inputF64(): readonly Float64Array[] {
    this.refreshViews();
    return this.f64Inputs;
  }
  get inputI32(): readonly Int32Array[] {
    this.refreshViews();
    return this.i32Inputs;
  }

  /** Adds a batch: one set per column and one WASM call per chunk of batchCapacity events. */
  ingestColumns(events: EventColumns, nowS: number, sink: KernelOutputSink): void {
    finiteNumber('nowS', nowS);
    this.resetCounts();
    this.refreshViews();
    const total = events.count;
    // The kernel checks partition slots per chunk before touching state; a batch of several chunks
    // is checked here first so that a bad slot anywhere leaves the whole batch unapplied.
    if (total > this.batchCapacity) this.checkPartitionColumn(events);
    for (let base = 0; base < total; base += this.batchCapacity) {
      const n = Math.min(this.batchCapacity, total - base);
      this.copyColumns(events, base, n);
      this.ingestChunk(n, nowS, base, sink);
    }
  }

  /**
   * Adds the first `count` events a producer wrote straight into the input views (inputF64 /
   * inputI32): no copy at all. `count` must not exceed batchCapacity.
   */
  ingestInput(count: number, nowS: number, sink: KernelOutputSink): void {
    finiteNumber('nowS', nowS);
    this.resetCounts();
    if (!Number.isInteger(count) || count < 0 || count > this.batchCapacity) {
      throw new KernelError(`count ${count} is outside 0..batchCapacity (${this.batchCapacity})`);
    }
    this.refreshViews();
    this.ingestChunk(count, nowS, 0, sink);
  }

  private ingestChunk(n: number, nowS: number, base: number, sink: KernelOutputSink): void {
    let next = this.ex.ingest(0, n, nowS, 1);
    if (next === INGEST_BAD_RANGE) throw new KernelError(`kernel refused the event range 0..${n}`);
    if (next < 0) {
      const at = -next - 1;
      throw new KernelError(
        `partition slot ${this.i32Inputs[PARTITION_COLUMN][at]} of event ${base + at} is outside 0..${this.options.partitions - 1}`,
      );
    }
    this.deliver(sink, base);
    while (next < n) {
      next = this.ex.ingest(next, n, nowS, 0);
      this.deliver(sink, base);
    }
    this.drainOwedEnds(sink);
  }

  /**
   * Adds one FlatBuffers LoopEventBatch (schema/loop_event_batch.fbs) read straight from `bytes` in
   * WASM memory. Returns the number of events, or a negative code when the message is malformed
   * (loopEventBatchErrorMessage); a malformed message changes no state.
   */
  ingestLoopEventBatch(
    bytes: Uint8Array,
    partition: number,
    nowS: number,
    resolvePoint: PointResolver,
    sink: KernelOutputSink,
  ): number {
    finiteNumber('nowS', nowS);
    this.checkPartition(partition);
    this.resetCounts();
    const events = this.loadLoopEventBatch(bytes, resolvePoint);
    if (events < 0) return events;
    for (let first = 0; first < events; first += this.batchCapacity) {
      const n = Math.min(this.batchCapacity, events - first);
      let next = this.ex.fbIngest(first, n, partition, nowS);
      if (next < 0) return next;
      this.deliver(sink, first);
      while (next < n) {
        next = this.ex.ingest(next, n, nowS, 0);
        this.deliver(sink, first);
      }
      this.drainOwedEnds(sink);
    }
    return events;
  }

  /**
   * Decodes events [first, first + batchCapacity) of a LoopEventBatch into the input columns without
   * ingesting them (inputF64 / inputI32 then show them). Returns the number filled, or a negative code.
   */
  fillFromLoopEventBatch(bytes: Uint8Array, partition: number, resolvePoint: PointResolver, first = 0): number {
    this.checkPartition(partition);
    const events = this.loadLoopEventBatch(bytes, resolvePoint);
    if (events < 0) return events;
    return this.ex.fbFill(first, Math.max(0, Math.min(this.batchCapacity, events - first)), partition);
  }

  tickInto(nowS: number, sink: KernelOutputSink): void {
    finiteNumber('nowS', nowS);
    this.resetCounts();
    this.refreshViews();
    this.ex.tick(nowS);
    this.deliver(sink, 0);
    this.drainOwedEnds(sink);
  }

  /** `watermarkS` must be finite: every window end up to it gets rows, so +Infinity would never end. */
  advanceWatermarkInto(watermarkS: number, sink: KernelOutputSink): void {
    finiteNumber('watermarkS', watermarkS);
    this.resetCounts();
    this.refreshViews();
    this.ex.advanceWatermark(watermarkS);
    this.deliver(sink, 0);
    this.drainOwedEnds(sink);
  }

  /** Back to the state right after construction, points kept (benchmarks, replays). */
  resetStream(): void {
    this.ex.reset();
  }

  get registeredPoints(): number {
    return this.ex.registeredPoints();
  }

  // ---- WindowKernel ---------------------------------------------------------------------------

  setPoint(point: number, allowedSpeedKmh: number | null): void {
    if (allowedSpeedKmh !== null && !Number.isFinite(allowedSpeedKmh)) {
      throw new KernelError(`allowed speed of point ${point} must be finite or null (got ${allowedSpeedKmh})`);
    }
    if (!Number.isInteger(point) || this.ex.setPoint(point, allowedSpeedKmh ?? NaN) !== 0) {
      throw new KernelError(`point ${point} is outside 0..${this.options.pointCapacity - 1}`);
    }
  }

  ingest(events: EventColumns, nowS: number): KernelOutput {
    const collector = new OutputCollector();
    this.ingestColumns(events, nowS, collector);
    return collector.output;
  }

  tick(nowS: number): KernelOutput {
    const collector = new OutputCollector();
    this.tickInto(nowS, collector);
    return collector.output;
  }

  advanceWatermark(watermarkS: number): KernelOutput {
    const collector = new OutputCollector();
    this.advanceWatermarkInto(watermarkS, collector);
    return collector.output;
  }

  /** ingestLoopEventBatch with object output; a malformed message throws SaferoadsError(DECODE). */
  ingestLoopEventBatchObjects(bytes: Uint8Array, partition: number, nowS: number, resolvePoint: PointResolver): KernelOutput {
    const collector = new OutputCollector();
    const code = this.ingestLoopEventBatch(bytes, partition, nowS, resolvePoint, collector);
    if (code < 0) {
      throw new SaferoadsError(ErrorCodes.DECODE, `malformed LoopEventBatch: ${loopEventBatchErrorMessage(code)}`);
    }
    return collector.output;
  }

  get watermark(): number {
    return this.ex.currentWatermark();
  }

  // ---- internals ------------------------------------------------------------------------------

  private checkPartitionColumn(events: EventColumns): void {
    const partitions = this.options.partitions;
    for (let i = 0; i < events.count; i++) {
      const p = events.partition[i];
      if (p < 0 || p >= partitions) {
        throw new KernelError(`partition slot ${p} of event ${i} is outside 0..${partitions - 1}`);
      }
    }
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.options.partitions) {
      throw new KernelError(`partition slot ${partition} is outside 0..${this.options.partitions - 1}`);
    }
  }

  /** Copies, validates and maps the point_ids of a message. Returns its event count or a code. */
  private loadLoopEventBatch(bytes: Uint8Array, resolvePoint: PointResolver): number {
    this.refreshViews();
    if (bytes.length > this.messageCapacity) return -1;
    this.message.set(bytes);
    const events = this.ex.fbValidate(bytes.length);
    if (events < 0) return events;
    const ids = this.ex.messagePointIds();
    const spans = this.pointIdSpans;
    for (let i = 0; i < ids; i++) {
      const at = spans[2 * i];
      const id = this.textDecoder.decode(bytes.subarray(at, at + spans[2 * i + 1]));
      const point = resolvePoint(id);
      this.pointIdMap[i] = Number.isInteger(point) && point >= 0 ? point : -1;
    }
    return events;
  }

  private copyColumns(events: EventColumns, base: number, n: number): void {
    for (let c = 0; c < EVENT_F64_COLUMNS.length; c++) {
      const column = events[EVENT_F64_COLUMNS[c] as EventF64Column];
      this.f64Inputs[c].set(base === 0 && column.length === n ? column : column.subarray(base, base + n));
    }
    for (let c = 0; c < EVENT_I32_COLUMNS.length; c++) {
      const column = events[EVENT_I32_COLUMNS[c] as EventI32Column];
      this.i32Inputs[c].set(base === 0 && column.length === n ? column : column.subarray(base, base + n));
    }
  }

  private drainOwedEnds(sink: KernelOutputSink): void {
    while (this.ex.owesEnds() !== 0) {
      this.ex.flush();
      this.deliver(sink, 0);
    }
  }

  private resetCounts(): void {
    this.lastCall.rows = 0;
    this.lastCall.rejections = 0;
    this.lastCall.finalEnds = 0;
  }

  private deliver(sink: KernelOutputSink, rejectionBase: number): void {
    const s = this.slice;
    s.rowCount = this.ex.rowsWritten();
    s.rejectionCount = this.ex.rejectionsWritten();
    s.finalEndCount = this.ex.finalEndsWritten();
    if (s.rowCount === 0 && s.rejectionCount === 0 && s.finalEndCount === 0) return;
    this.lastCall.rows += s.rowCount;
    this.lastCall.rejections += s.rejectionCount;
    this.lastCall.finalEnds += s.finalEndCount;
    s.rejectionBase = rejectionBase;
    sink.onOutput(s);
  }

  /** (Re)creates the typed-array views; needed only if WASM memory grew, which it does not after init. */
  private refreshViews(): void {
    const buffer = this.ex.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    const ex = this.ex;
    const cap = this.batchCapacity;
    this.f64Inputs = EVENT_F64_COLUMNS.map((_, c) => new Float64Array(buffer, ex.f64ColumnPtr(c), cap));
    this.i32Inputs = EVENT_I32_COLUMNS.map((_, c) => new Int32Array(buffer, ex.i32ColumnPtr(c), cap));
    this.message = new Uint8Array(buffer, ex.messagePtr(), this.messageCapacity);
    this.pointIdSpans = new Int32Array(buffer, ex.pointIdSpansPtr(), 2 * this.pointIdCapacity);
    this.pointIdMap = new Int32Array(buffer, ex.pointIdMapPtr(), this.pointIdCapacity);
    this.slice.rows = new Float64Array(buffer, ex.rowsPtr(), this.rowCapacity * ROW_F64);
    this.slice.rejections = new Int32Array(buffer, ex.rejectionsPtr(), 2 * cap);
    this.slice.finalEnds = new Float64Array(buffer, ex.finalEndsPtr(), this.finalEndCapacity);
  }
}

function statsAt(rows: Float64Array, at: number): WindowStats {
  const stats = {} as Record<string, number | null>;
  WINDOW_STAT_FIELDS.forEach((field, i) => {
    const v = rows[at + i];
    stats[field] = Number.isNaN(v) ? null : v;
  });
  return stats as WindowStats;
}

/** Decodes one row of the f64 block (NaN → null). */
export function decodeRow(rows: Float64Array, row: number): WindowRow {
  const at = row * ROW_F64;
  return {
    point: rows[at + ROW_POINT],
    windowEnd: rows[at + ROW_WINDOW_END],
    short: statsAt(rows, at + ROW_SHORT),
    long: statsAt(rows, at + ROW_LONG),
  };
}

/** A sink that turns slices into the object-level KernelOutput (allocates; for tests and tools). */
export class OutputCollector implements KernelOutputSink {
  readonly output: KernelOutput = { rejections: [], rows: [], finalEnds: [] };

  onOutput(slice: KernelOutputSlice): void {
    for (let r = 0; r < slice.rowCount; r++) this.output.rows.push(decodeRow(slice.rows, r));
    for (let k = 0; k < slice.rejectionCount; k++) {
      const rejection: Rejection = {
        index: slice.rejections[2 * k] + slice.rejectionBase,
        reason: slice.rejections[2 * k + 1] as ReasonCode,
      };
      this.output.rejections.push(rejection);
    }
    for (let e = 0; e < slice.finalEndCount; e++) this.output.finalEnds.push(slice.finalEnds[e]);
  }
}

/** Creates a WASM window kernel (throws KernelError when it cannot be loaded or laid out). */
export function createWasmKernel(options: WasmKernelOptions): WasmKernel {
  return new WasmKernel(options);
}
