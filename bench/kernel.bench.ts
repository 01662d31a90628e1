import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { mulberry32 } from '../src/generate/prng.js';
import { encodeLoopEventBatch } from '../src/codec/loop-event-batch.js';
import { EVENT_F64_COLUMNS, EVENT_I32_COLUMNS } from '../src/kernel/contract.js';
import { allocateEventColumns, type EventColumns, type KernelOptions } from '../src/kernel/kernel.js';
import { JsPaneKernel } from '../src/kernel/js-panes.js';
import { ReferenceKernel } from '../src/kernel/reference.js';
import { WasmKernel, type KernelOutputSink, type KernelOutputSlice } from '../src/kernel/wasm-kernel.js';
import { windowSpec } from '../src/kernel/window-spec.js';

/**
 * The window kernel three ways on the same batch: the AssemblyScript/WASM kernel (columns and
 * FlatBuffers input), the same pane update in plain JS over typed arrays (src/kernel/js-panes.ts,
 * no rows) and the TS reference (src/kernel/reference.ts, the oracle: raw events, no panes).
 * Every accepted event is one pane update, so WASM events/s = pane updates/s.
 *
 * Run: `npm run build && node dist/bench/kernel.bench.js [events] [points]`.
 * Use an otherwise idle machine: with two cores, anything else running halves the figures.
 */

export interface KernelBenchOptions {
  /** Events in the batch (default 1 000 000). */
  events?: number;
  /** Road points (default 10 000). */
  points?: number;
  /** Input partitions, point → partition by point % partitions (default 4). */
  partitions?: number;
  /** Seconds of event time the batch spans (default 180: ~0.55 vehicles/s per point). */
  spanS?: number;
  /** Minimum timed iterations of the fast tasks (default 20). */
  iterations?: number;
  /** Timed iterations of the reference (default 3; it takes seconds per run). */
  referenceIterations?: number;
  /**
   * Points of the extra cache-resident runs (default 100): their rings fit the CPU caches, so
   * those figures show compute cost, the main ones (10 000 points, ~31 MB of window state) memory cost.
   */
  residentPoints?: number;
  /** Skip the reference (e.g. when only the WASM figures are wanted). */
  skipReference?: boolean;
}

export interface KernelBenchFigure {
  name: string;
  /** Median over iterations. */
  eventsPerS: number;
  medianMs: number;
  samples: number;
}

export interface KernelBenchResult {
  events: number;
  points: number;
  accepted: number;
  /** Rows the WASM kernel emits while ingesting the batch. */
  rowsPerBatch: number;
  figures: KernelBenchFigure[];
  /** Emission alone: median ns per WASM row (both windows, 32 statistics). */
  wasmNsPerRow: number;
  /** Rows per emission run behind wasmNsPerRow. */
  emittedRows: number;
  /** Median ns per reference row, from the same emission run (undefined when skipped). */
  referenceNsPerRow?: number;
}


/** Realistic traffic: speeds ~N(100, 15) km/h, 15 % trucks, exponential headways, 3 lanes. */
export function makeTraffic(events: number, points: number, partitions: number, spanS: number, t0: number): EventColumns {
  const rnd = mulberry32(42); // the same batch in every run
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const c = allocateEventColumns(events);
  c.count = events;
  for (let i = 0; i < events; i++) {
    const point = Math.floor(rnd() * points);
    // Arrival order with a little disorder (well inside the 30 s grace).
    const t = t0 + (i * spanS) / events + (rnd() - 0.5) * 4;
    const truck = rnd() < 0.15;
    const speed = Math.min(250, Math.max(5, (truck ? 85 : 100) + (truck ? 8 : 15) * normal()));
    const length = truck ? 12 + rnd() * 6 : 3.8 + rnd() * 1.2;
    const mps = speed / 3.6;
    const gapS = -Math.log(1 - rnd()) * 1.8;
    const tOut2 = Math.round(t * 1000) / 1000;
    const tIn2 = tOut2 - length / mps;
    const tOut1 = tOut2 - 0.9 / mps; // loops 0.9 m apart, measured on the same vehicle
    c.tIn1[i] = tIn2 - 0.9 / mps;
    c.tOut1[i] = tOut1;
    c.tIn2[i] = tIn2;
    c.tOut2[i] = tOut2;
    c.speed[i] = speed;
    c.gapM[i] = gapS * mps;
    c.gapS[i] = gapS;
    c.length[i] = length;
    c.point[i] = point;
    c.lane[i] = 1 + Math.floor(rnd() * 3);
    c.partition[i] = point % partitions;
  }
  return c;
}

class CountingSink implements KernelOutputSink {
  rows = 0;
  rejections = 0;
  onOutput(slice: KernelOutputSlice): void {
    this.rows += slice.rowCount;
    this.rejections += slice.rejectionCount;
  }
}

function median(task: { result: unknown }): { ms: number; samples: number } {
  const r = task.result as { state: string; latency?: { p50: number; samplesCount: number }; error?: unknown };
  if (r.state !== 'completed' || r.latency === undefined) throw new Error(`benchmark task did not complete: ${String(r.error ?? r.state)}`);
  return { ms: r.latency.p50, samples: r.latency.samplesCount };
}

export async function runKernelBench(opts: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const events = opts.events ?? 1_000_000;
  const points = opts.points ?? 10_000;
  const partitions = opts.partitions ?? 4;
  const spanS = opts.spanS ?? 180;
  const iterations = opts.iterations ?? 20;
  const referenceIterations = opts.referenceIterations ?? 3;
  const t0 = 1_700_000_000;
  const nowS = t0 + spanS + 5;
  const spec = windowSpec(); // 60 s / 600 s windows, 30 s grace
  const options: KernelOptions = { spec, pointCapacity: points, partitions, startWallClockS: nowS };
  const batch = makeTraffic(events, points, partitions, spanS, t0);
  const ids = Array.from({ length: points }, (_, p) => `P${p}`);
  const message = encodeLoopEventBatch(ids, batch); // point_ref = dense index here
  const resolve = (id: string): number => Number(id.slice(1));
  const allowed = (p: number): number | null => (p % 10 === 0 ? null : 80 + (p % 5) * 10);

  const wasm = new WasmKernel({
    ...options,
    batchCapacity: events,
    rowCapacity: points * 4,
    messageCapacity: message.length + 1024,
    pointIdCapacity: points,
  });
  const js = new JsPaneKernel(options, events);
  for (let p = 0; p < points; p++) {
    wasm.setPoint(p, allowed(p));
    js.setPoint(p, allowed(p));
  }
  const sink = new CountingSink();

  const fast = new Bench({ iterations, time: 1, warmupIterations: 3, warmupTime: 1 });
  fast.add('wasm (columns)', () => wasm.ingestColumns(batch, nowS, sink), {
    beforeEach: () => {
      wasm.resetStream();
      sink.rows = 0;
    },
  });
  fast.add('wasm (input views, no copy)', () => wasm.ingestInput(events, nowS, sink), {
    beforeEach: () => {
      wasm.resetStream();
      // What a producer writing straight into WASM memory would have done (not timed).
      EVENT_F64_COLUMNS.forEach((name, c) => wasm.inputF64[c].set(batch[name]));
      EVENT_I32_COLUMNS.forEach((name, c) => wasm.inputI32[c].set(batch[name]));
    },
  });
  fast.add('wasm (FlatBuffers)', () => void wasm.ingestLoopEventBatch(message, 0, nowS, resolve, sink), {
    beforeEach: () => wasm.resetStream(),
  });
  fast.add('js typed-array panes', () => void js.ingest(batch, nowS), { beforeEach: () => js.reset() });

  const resident = opts.residentPoints ?? 100;
  const residentOptions: KernelOptions = { ...options, pointCapacity: resident };
  const residentBatch = makeTraffic(events, resident, partitions, spanS, t0);
  const residentWasm = new WasmKernel({ ...residentOptions, batchCapacity: events, rowCapacity: resident * 4 });
  const residentJs = new JsPaneKernel(residentOptions, events);
  for (let p = 0; p < resident; p++) {
    residentWasm.setPoint(p, allowed(p));
    residentJs.setPoint(p, allowed(p));
  }
  fast.add(`wasm (columns, ${resident} points)`, () => residentWasm.ingestColumns(residentBatch, nowS, sink), {
    beforeEach: () => residentWasm.resetStream(),
  });
  fast.add(`wasm (input views, ${resident} points)`, () => residentWasm.ingestInput(events, nowS, sink), {
    beforeEach: () => {
      residentWasm.resetStream();
      EVENT_F64_COLUMNS.forEach((name, c) => residentWasm.inputF64[c].set(residentBatch[name]));
      EVENT_I32_COLUMNS.forEach((name, c) => residentWasm.inputI32[c].set(residentBatch[name]));
    },
  });
  fast.add(`js typed-array panes (${resident} points)`, () => void residentJs.ingest(residentBatch, nowS), {
    beforeEach: () => residentJs.reset(),
  });
  await fast.run();

  // What one ingest does, for the report.
  wasm.resetStream();
  const once = new CountingSink();
  wasm.ingestColumns(batch, nowS, once);
  const accepted = events - once.rejections;

  const figures: KernelBenchFigure[] = fast.tasks.map((task) => {
    const m = median(task);
    return { name: task.name, eventsPerS: events / (m.ms / 1000), medianMs: m.ms, samples: m.samples };
  });

  // Emission alone: ingest with one partition that never speaks (and never idles), so nothing is
  // final; then time advanceWatermark over every window end that holds data.
  const held: KernelOptions = { ...options, partitions: partitions + 1, spec: windowSpec({ idleTimeoutS: 1e9 }) };
  const emitter = new WasmKernel({ ...held, batchCapacity: events, rowCapacity: points * 4 });
  for (let p = 0; p < points; p++) emitter.setPoint(p, allowed(p));
  const flushTo = t0 + spanS + spec.longS;
  const emitSink = new CountingSink();
  const emission = new Bench({ iterations, time: 1, warmupIterations: 2, warmupTime: 1 });
  emission.add('wasm emission', () => emitter.advanceWatermarkInto(flushTo, emitSink), {
    beforeEach: () => {
      emitter.resetStream();
      emitter.ingestColumns(batch, nowS, emitSink);
      emitSink.rows = 0;
    },
  });
  await emission.run();
  const emittedRows = emitSink.rows;
  const wasmNsPerRow = (median(emission.tasks[0]).ms * 1e6) / emittedRows;

  let referenceNsPerRow: number | undefined;
  if (!opts.skipReference) {
    let reference: ReferenceKernel | undefined;
    const fresh = (o: KernelOptions): ReferenceKernel => {
      const k = new ReferenceKernel(o);
      for (let p = 0; p < points; p++) k.setPoint(p, allowed(p));
      return k;
    };
    const ref = new Bench({ iterations: referenceIterations, time: 1, warmupIterations: 1, warmupTime: 1 });
    ref.add('ts reference', () => void reference!.ingest(batch, nowS), { beforeEach: () => void (reference = fresh(options)) });
    ref.add('ts reference emission', () => void reference!.advanceWatermark(flushTo), {
      beforeEach: () => {
        reference = fresh(held);
        reference.ingest(batch, nowS);
      },
    });
    await ref.run();
    const m = median(ref.tasks[0]);
    figures.push({ name: 'ts reference', eventsPerS: events / (m.ms / 1000), medianMs: m.ms, samples: m.samples });
    referenceNsPerRow = (median(ref.tasks[1]).ms * 1e6) / emittedRows;
  }
  return { events, points, accepted, rowsPerBatch: once.rows, figures, wasmNsPerRow, emittedRows, referenceNsPerRow };
}

function printResult(r: KernelBenchResult): void {
  const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  process.stdout.write(
    `window kernel: ${fmt(r.events)} events (${fmt(r.accepted)} accepted) over ${fmt(r.points)} points, ` +
      `${fmt(r.rowsPerBatch)} rows emitted per batch; every accepted event is one pane update\n`,
  );
  const width = Math.max(...r.figures.map((f) => f.name.length));
  for (const f of r.figures) {
    process.stdout.write(
      `  ${f.name.padEnd(width)}  ${fmt(f.eventsPerS).padStart(12)} events/s  median ${f.medianMs.toFixed(2)} ms  (${f.samples} runs)\n`,
    );
  }
  process.stdout.write(`  wasm emission: ${r.wasmNsPerRow.toFixed(1)} ns/row over ${fmt(r.emittedRows)} rows\n`);
  if (r.referenceNsPerRow !== undefined) process.stdout.write(`  ts reference emission: ${r.referenceNsPerRow.toFixed(1)} ns/row\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [events, points] = process.argv.slice(2).map(Number);
  printResult(await runKernelBench({ events: events || undefined, points: points || undefined }));
}
