/**
 * Suite "kernel": runKernelBench (bench/kernel.bench.ts) — the WASM kernel (columns, input views,
 * FlatBuffers) vs plain-JS typed-array panes vs the TS reference on the same batch — called `runs`
 * times; each call's figure is tinybench's median over its iterations, and the table shows the
 * median, min and max of those calls.
 */
import { WasmKernel } from '../../src/kernel/wasm-kernel.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { runKernelBench, type KernelBenchResult } from '../kernel.bench.js';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';

export interface KernelSettings {
  events: number;
  points: number;
  runs: number;
  /** tinybench iterations per call. */
  iterations: number;
  /** Calls that include the (slow) TS reference; at most `runs`. */
  referenceRuns: number;
}

export interface KernelFigure {
  name: string;
  eventsPerS: Summary;
}

export interface KernelResult {
  settings: KernelSettings;
  events: number;
  points: number;
  accepted: number;
  rowsPerBatch: number;
  figures: KernelFigure[];
  wasmNsPerRow: Summary;
  referenceNsPerRow?: Summary;
  emittedRows: number;
  /** WasmKernel.bytesPerPoint of the bench's windows. */
  bytesPerPoint: number;
  /** Best WASM pane updates/s (the 50 M target): median of the fastest 10 000-point variant. */
  wasmPaneUpdatesPerS: number;
}

export async function runKernelSuite(s: KernelSettings, log: (line: string) => void): Promise<KernelResult> {
  const results: KernelBenchResult[] = [];
  for (let run = 0; run < s.runs; run++) {
    const r = await runKernelBench({
      events: s.events,
      points: s.points,
      iterations: s.iterations,
      referenceIterations: 1,
      skipReference: run >= s.referenceRuns,
    });
    results.push(r);
    const wasm = r.figures.find((f) => f.name === 'wasm (columns)');
    log(`  kernel: run ${run + 1}/${s.runs}: wasm (columns) ${fmtRate(wasm?.eventsPerS ?? NaN)} events/s`);
  }
  const names = [...new Set(results.flatMap((r) => r.figures.map((f) => f.name)))];
  const figures = names.map((name) => ({
    name,
    eventsPerS: summarize(results.flatMap((r) => r.figures.filter((f) => f.name === name).map((f) => f.eventsPerS))),
  }));
  const refs = results.map((r) => r.referenceNsPerRow).filter((x): x is number => x !== undefined);
  const main = figures.filter((f) => f.name.startsWith('wasm') && !f.name.includes('points)'));
  const first = results[0];
  return {
    settings: s,
    events: first.events,
    points: first.points,
    accepted: first.accepted,
    rowsPerBatch: first.rowsPerBatch,
    figures,
    wasmNsPerRow: summarize(results.map((r) => r.wasmNsPerRow)),
    referenceNsPerRow: refs.length > 0 ? summarize(refs) : undefined,
    emittedRows: first.emittedRows,
    bytesPerPoint: new WasmKernel({ spec: windowSpec(), pointCapacity: 1, partitions: 4, startWallClockS: 0 }).bytesPerPoint,
    wasmPaneUpdatesPerS: Math.max(...main.map((f) => f.eventsPerS.median)),
  };
}

export function kernelTable(r: KernelResult): Table {
  const ns = (n: number) => n.toFixed(0);
  return {
    title: 'kernel: window kernel on one batch (every accepted event = one pane update)',
    header: ['variant', 'events/s median (min–max)', 'calls'],
    rows: [
      ...r.figures.map((f) => [f.name, fmtSummary(f.eventsPerS), String(f.eventsPerS.n)]),
      ['wasm emission, ns/row', fmtSummary(r.wasmNsPerRow, ns), String(r.wasmNsPerRow.n)],
      ...(r.referenceNsPerRow ? [['ts reference emission, ns/row', fmtSummary(r.referenceNsPerRow, ns), String(r.referenceNsPerRow.n)]] : []),
    ],
    notes: [
      `${fmt(r.events)} events (${fmt(r.accepted)} accepted) over ${fmt(r.points)} points, ${fmt(r.rowsPerBatch)} rows emitted per batch; ` +
        `each call is tinybench's median of ${r.settings.iterations} iterations (the reference: 1).`,
      `"N points)" variants fit the CPU caches (compute cost); the others (${fmt(r.points)} points × ${fmt(r.bytesPerPoint)} bytes of window state = ` +
        `${(r.points * r.bytesPerPoint / 2 ** 20).toFixed(0)} MiB) show memory cost.`,
    ],
  };
}
