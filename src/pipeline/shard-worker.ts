/**
 * A shard: one Piscina worker thread owning one WASM window kernel and the points routed to it.
 * Piscina runs this module's default export for each task; module state persists because every
 * shard pool has exactly one thread that never idles out.
 */
import { ROW_F64, ROW_POINT, ROW_WINDOW_END } from '../kernel/contract.js';
import type { KernelOutputSink, KernelOutputSlice } from '../kernel/wasm-kernel.js';
import { WasmKernel } from '../kernel/wasm-kernel.js';
import { windowSpec } from '../kernel/window-spec.js';
import { WEATHER_RETENTION_S, WeatherHistory } from '../weather/history.js';
import { viewPackedColumns } from './columns.js';
import {
  OUT_ROW_F64,
  OUT_ROW_WEATHER,
  type InitTask,
  type SegmentResult,
  type SegmentTask,
  type ShardTask,
} from './shard-protocol.js';

interface ShardState {
  kernel: WasmKernel;
  /** Station of each dense point index (only this shard's points are set). */
  stationOf: string[];
  weather: WeatherHistory;
}

let state: ShardState | undefined;

/**
 * Collects kernel output slices into one growing f64 block with the weather appended per row.
 * Reused across tasks; only the returned result is allocated (exactly sized, then transferred).
 */
class SegmentSink implements KernelOutputSink {
  rows = new Float64Array(OUT_ROW_F64 * 1024);
  rowCount = 0;
  rejections = new Int32Array(2 * 256);
  rejectionCount = 0;
  finalEnds: number[] = [];

  constructor(private readonly shard: () => ShardState) {}

  reset(): void {
    this.rowCount = 0;
    this.rejectionCount = 0;
    this.finalEnds = [];
  }

  onOutput(slice: KernelOutputSlice): void {
    const s = this.shard();
    if ((this.rowCount + slice.rowCount) * OUT_ROW_F64 > this.rows.length) {
      const bigger = new Float64Array(Math.max(this.rows.length * 2, (this.rowCount + slice.rowCount) * OUT_ROW_F64));
      bigger.set(this.rows.subarray(0, this.rowCount * OUT_ROW_F64));
      this.rows = bigger;
    }
    for (let r = 0; r < slice.rowCount; r++) {
      const from = r * ROW_F64;
      const to = (this.rowCount + r) * OUT_ROW_F64;
      this.rows.set(slice.rows.subarray(from, from + ROW_F64), to);
      const point = slice.rows[from + ROW_POINT];
      const end = slice.rows[from + ROW_WINDOW_END];
      writeWeather(this.rows, to + OUT_ROW_WEATHER, s.weather.latestAtOrBefore(s.stationOf[point], end));
    }
    this.rowCount += slice.rowCount;
    if ((this.rejectionCount + slice.rejectionCount) * 2 > this.rejections.length) {
      const bigger = new Int32Array(Math.max(this.rejections.length * 2, (this.rejectionCount + slice.rejectionCount) * 2));
      bigger.set(this.rejections.subarray(0, this.rejectionCount * 2));
      this.rejections = bigger;
    }
    for (let k = 0; k < slice.rejectionCount; k++) {
      this.rejections[(this.rejectionCount + k) * 2] = slice.rejections[2 * k] + slice.rejectionBase;
      this.rejections[(this.rejectionCount + k) * 2 + 1] = slice.rejections[2 * k + 1];
    }
    this.rejectionCount += slice.rejectionCount;
    for (let e = 0; e < slice.finalEndCount; e++) this.finalEnds.push(slice.finalEnds[e]);
  }

  result(): SegmentResult {
    return {
      rows: this.rows.slice(0, this.rowCount * OUT_ROW_F64),
      rowCount: this.rowCount,
      rejections: this.rejections.slice(0, this.rejectionCount * 2),
      finalEnds: this.finalEnds,
    };
  }
}

function writeWeather(
  out: Float64Array,
  at: number,
  reading: { timestamp: number; temp: number; snow: number; rain: number; pressure: number; wind: number | null; visibility: number | null } | undefined,
): void {
  if (reading === undefined) {
    out[at] = 0;
    out.fill(NaN, at + 1, at + 8);
    return;
  }
  out[at] = 1;
  out[at + 1] = reading.timestamp;
  out[at + 2] = reading.temp;
  out[at + 3] = reading.snow;
  out[at + 4] = reading.rain;
  out[at + 5] = reading.pressure;
  out[at + 6] = reading.wind ?? NaN;
  out[at + 7] = reading.visibility ?? NaN;
}

function current(): ShardState {
  if (!state) throw new Error('shard used before init');
  return state;
}

const sink = new SegmentSink(current);

function init(task: InitTask): { bytesPerPoint: number; memoryBytes: number } {
  const spec = windowSpec(task.spec);
  const kernel = new WasmKernel({
    spec,
    pointCapacity: task.pointCapacity,
    partitions: task.partitions,
    startWallClockS: task.startWallClockS,
    externalWatermark: true,
    wasmPath: task.wasmPath,
  });
  const stationOf: string[] = new Array(task.pointCapacity);
  for (const p of task.points) {
    kernel.setPoint(p.index, p.allowedSpeedKmh);
    stationOf[p.index] = p.station;
  }
  state = { kernel, stationOf, weather: new WeatherHistory() };
  return { bytesPerPoint: kernel.bytesPerPoint, memoryBytes: kernel.memoryBytes };
}

function segment(task: SegmentTask): SegmentResult {
  const s = current();
  sink.reset();
  if (!Number.isNaN(task.startAt)) s.kernel.advanceWatermarkInto(task.startAt, sink);
  if (task.count > 0) {
    s.kernel.ingestColumns(viewPackedColumns(task.buffer, task.count, task.count), task.nowS, sink);
  }
  if (!Number.isNaN(task.advanceTo)) {
    s.kernel.advanceWatermarkInto(task.advanceTo, sink);
    // Later lookups are for window ends beyond W — or, after a reassignment, for the ends after an
    // older restart point that a partition brings along: readings within WEATHER_RETENTION_S
    // behind W stay (and the newest one before that of each station).
    s.weather.prune(task.advanceTo - WEATHER_RETENTION_S);
  }
  return sink.result();
}

export default function handle(task: ShardTask): unknown {
  switch (task.kind) {
    case 'init':
      return init(task);
    case 'weather': {
      const s = current();
      for (const r of task.readings) s.weather.add(r);
      return null;
    }
    case 'segment':
      // Structured clone copies the two small typed arrays; cheaper than the transfer bookkeeping.
      return segment(task);
    case 'reset':
      // Weather is global state and stays; only window state is rebuilt from the input.
      current().kernel.resetStream();
      return null;
  }
}
