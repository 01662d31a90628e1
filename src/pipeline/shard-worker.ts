/**
 * A shard: one Piscina worker thread owning one WASM window kernel and the partitions the host
 * gives it. Piscina runs this module's default export for each task; module state persists because
 * every shard pool has exactly one thread that never idles out.
 *
 * Per task the shard decodes and admits a fetched batch (PartitionRouter) and ingests what it
 * admitted, or emits the window ends the host's W made final; every task returns a ShardReport.
 */
import { ROW_F64, ROW_POINT, ROW_WINDOW_END } from '../kernel/contract.js';
import type { KernelOutputSink, KernelOutputSlice } from '../kernel/wasm-kernel.js';
import { WasmKernel } from '../kernel/wasm-kernel.js';
import { windowSpec, type WindowSpec } from '../kernel/window-spec.js';
import { WEATHER_RETENTION_S, WeatherHistory } from '../weather/history.js';
import { CalendarResolver } from '../join/calendar.js';
import { RiskRecordBuilder, scheduleFromJson, writeRowWeather } from './output.js';
import { PointIndexBytes } from '../codec/seed-json.js';
import { PackedColumns } from './columns.js';
import { type AdmittedSink, PartitionRouter } from './partition-router.js';
import {
  KEY_F64,
  KEY_POINT,
  KEY_WINDOW_END,
  OUT_ROW_F64,
  OUT_ROW_WEATHER,
  type AdvanceTask,
  type AssignTask,
  type InitTask,
  type RecordsTask,
  type ShardReport,
  type ShardTask,
} from './shard-protocol.js';

/** Admitted events handed to the kernel at once (also the most a parked record can hold back). */
const INGEST_CAPACITY = 16_384;

interface ShardState {
  shard: number;
  spec: WindowSpec;
  kernel: WasmKernel;
  router: PartitionRouter;
  admitted: AdmittedSink;
  /** Station of each dense point index. */
  stationOf: string[];
  keyPartition: Int32Array;
  /** Per partition slot: the shard that reads it (-1: another instance's). */
  shardOfPartition: Int32Array;
  learned: Int32Array<ArrayBufferLike>;
  weather: WeatherHistory;
  output: RiskRecordBuilder;
}

let state: ShardState | undefined;

/**
 * Collects kernel output slices into one growing f64 block with the weather appended per row.
 * Reused across tasks; only the returned result is allocated (exactly sized, then transferred).
 *
 * Rows: every shard's kernel holds every point, but only the shards a point may live on emit its
 * row — the shard of the partition its key goes to and the shard of the partition its events
 * arrived on (they differ only when the producers' partitioner is not --partitioner). The host
 * keeps one row per point and window end (publisher.ts).
 */
class ReportSink implements KernelOutputSink {
  /** One kernel row and its weather block: what the join reads (reused for every row). */
  private readonly row = new Float64Array(OUT_ROW_F64);
  keys = new Float64Array(KEY_F64 * 1024);
  rowCount = 0;
  values: string[] = [];
  reliable = new Uint8Array(1024);
  shadow = new Uint8Array(1024);
  finalEnds: number[] = [];

  constructor(private readonly shard: () => ShardState) {}

  reset(): void {
    this.rowCount = 0;
    this.values = [];
    this.finalEnds = [];
  }

  private emits(s: ShardState, point: number): boolean {
    const me = s.shard;
    if (s.shardOfPartition[s.keyPartition[point]] === me) return true;
    const seen = Atomics.load(s.learned, point);
    return seen >= 0 && s.shardOfPartition[seen] === me;
  }

  onOutput(slice: KernelOutputSlice): void {
    const s = this.shard();
    if (this.rowCount + slice.rowCount > this.reliable.length) {
      const rows = Math.max(this.reliable.length * 2, this.rowCount + slice.rowCount);
      const keys = new Float64Array(rows * KEY_F64);
      keys.set(this.keys.subarray(0, this.rowCount * KEY_F64));
      this.keys = keys;
      const reliable = new Uint8Array(rows);
      reliable.set(this.reliable.subarray(0, this.rowCount));
      this.reliable = reliable;
      const shadow = new Uint8Array(rows);
      shadow.set(this.shadow.subarray(0, this.rowCount));
      this.shadow = shadow;
    }
    const row = this.row;
    let n = this.rowCount;
    for (let r = 0; r < slice.rowCount; r++) {
      const from = r * ROW_F64;
      const point = slice.rows[from + ROW_POINT];
      if (!this.emits(s, point)) continue;
      row.set(slice.rows.subarray(from, from + ROW_F64));
      const end = slice.rows[from + ROW_WINDOW_END];
      writeRowWeather(row, OUT_ROW_WEATHER, s.weather.latestAtOrBefore(s.stationOf[point], end));
      // The final join and the score, here rather than on the host: per row, as much work as the
      // window itself.
      this.values.push(s.output.serialize(row, 0));
      this.reliable[n] = s.output.lastReliable ? 1 : 0;
      this.shadow[n] = s.output.lastShadow;
      this.keys[n * KEY_F64 + KEY_POINT] = point;
      this.keys[n * KEY_F64 + KEY_WINDOW_END] = end;
      n++;
    }
    this.rowCount = n;
    for (let k = 0; k < slice.rejectionCount; k++) s.router.kernelRefused(slice.rejections[2 * k] + slice.rejectionBase, slice.rejections[2 * k + 1]);
    for (let e = 0; e < slice.finalEndCount; e++) this.finalEnds.push(slice.finalEnds[e]);
  }

  report(router: PartitionRouter): ShardReport {
    return {
      keys: this.keys.slice(0, this.rowCount * KEY_F64),
      rowCount: this.rowCount,
      values: this.values,
      reliable: this.reliable.slice(0, this.rowCount),
      shadow: this.shadow.slice(0, this.rowCount),
      finalEnds: this.finalEnds,
      ...router.takeReport(),
    };
  }
}

function current(): ShardState {
  if (!state) throw new Error('shard used before init');
  return state;
}

const sink = new ReportSink(current);
/** nowS of the task being run (the kernel's ingest checks use it). */
let taskNowS = 0;

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
  const indexById = new Map<string, number>();
  const pointIds: string[] = new Array(task.pointCapacity);
  const idBytes: Uint8Array[] = new Array(task.pointCapacity);
  for (const p of task.points) {
    kernel.setPoint(p.index, p.allowedSpeedKmh);
    stationOf[p.index] = p.station;
    indexById.set(p.pointId, p.index);
    pointIds[p.index] = p.pointId;
    idBytes[p.index] = Buffer.from(p.pointId);
  }
  const events = new PackedColumns(INGEST_CAPACITY);
  const admitted: AdmittedSink = {
    events,
    slotOf: new Int32Array(INGEST_CAPACITY),
    offsetOf: new Float64Array(INGEST_CAPACITY),
    ingest: () => {
      if (events.count === 0) return;
      kernel.ingestColumns(events.columns, taskNowS, sink);
      events.columns.count = 0;
    },
  };
  const router = new PartitionRouter(
    spec,
    task.partitions,
    { count: task.points.length, indexOf: (id) => indexById.get(id), byBytes: new PointIndexBytes(indexById), pointId: (i) => pointIds[i], idBytes },
    admitted,
  );
  state = {
    shard: task.shard,
    spec,
    kernel,
    router,
    admitted,
    stationOf,
    keyPartition: task.keyPartition,
    shardOfPartition: new Int32Array(task.partitions).fill(-1),
    learned: new Int32Array(new SharedArrayBuffer(4 * Math.max(task.pointCapacity, 1))).fill(-1),
    weather: new WeatherHistory(),
    output: new RiskRecordBuilder(
      spec,
      { byIndex: (i) => task.join.points[i] },
      new CalendarResolver(task.join.calendar),
      scheduleFromJson(task.join.schedule),
      task.join.levels,
    ),
  };
  return { bytesPerPoint: kernel.bytesPerPoint, memoryBytes: kernel.memoryBytes };
}

function assign(task: AssignTask): null {
  const s = current();
  s.kernel.resetStream();
  s.shardOfPartition = task.shardOfPartition;
  s.learned = new Int32Array(task.learned);
  const mine = task.starts.filter((p) => task.shardOfPartition[p.slot] === s.shard);
  s.router.assign(mine, s.learned, task.nowS);
  // Weather is global state and stays; only window state is rebuilt from the input.
  return null;
}

function records(task: RecordsTask): ShardReport {
  const s = current();
  sink.reset();
  taskNowS = task.nowS;
  s.router.route(task);
  s.admitted.ingest();
  return sink.report(s.router);
}

function advance(task: AdvanceTask): ShardReport {
  const s = current();
  sink.reset();
  taskNowS = task.nowS;
  if (!Number.isNaN(task.startAt)) s.kernel.advanceWatermarkInto(task.startAt, sink);
  s.kernel.advanceWatermarkInto(task.advanceTo, sink);
  // Later lookups are for window ends beyond W — or, after a reassignment, for the ends after an
  // older restart point that a partition brings along: readings within WEATHER_RETENTION_S
  // behind W stay (and the newest one before that of each station).
  s.weather.prune(task.advanceTo - WEATHER_RETENTION_S);
  s.router.follow(task.startAt, task.advanceTo, task.nowS);
  s.admitted.ingest();
  return sink.report(s.router);
}

export default function handle(task: ShardTask): unknown {
  switch (task.kind) {
    case 'init':
      return init(task);
    case 'assign':
      return assign(task);
    case 'weather': {
      const s = current();
      for (const r of task.readings) s.weather.add(r);
      return null;
    }
    case 'models':
      // Weather-like global state: kept across assignments; rows pick their model by window end.
      current().output.useSchedule(scheduleFromJson(task.schedule));
      return null;
    case 'records':
      return records(task);
    case 'advance':
      return advance(task);
  }
}
