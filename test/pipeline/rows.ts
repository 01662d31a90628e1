/**
 * Shard rows (OUT_ROW_F64 each: the WASM kernel's row, then a weather block) computed from hand-made
 * loop events, and a RiskRecordBuilder over a small road-points table: what the publisher gets from
 * a shard, without worker threads or a broker.
 */
import { ROW_F64 } from '../../src/kernel/contract.js';
import type { LoopEvent } from '../../src/kernel/reference.js';
import { eventColumns } from '../../src/kernel/reference.js';
import { WasmKernel, type KernelOutputSink } from '../../src/kernel/wasm-kernel.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { CalendarResolver } from '../../src/join/calendar.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../src/model/risk-model.js';
import { RiskRecordBuilder } from '../../src/pipeline/output.js';
import { OUT_ROW_F64, OUT_ROW_WEATHER, WEATHER_F64, WEATHER_PRESENT } from '../../src/pipeline/shard-protocol.js';
import { parseRoadPoints, type RoadPointTable } from '../../src/road/points.js';

/** The service's default windows: 1-minute advance and short window, 10-minute long window. */
export const SPEC = windowSpec();
/** A whole minute (epoch seconds, a multiple of 60): the short window [T0, T0 + 60). */
export const T0 = 1_800_000_000;

/** Points P0..P{n-1}, station S, allowed speed 100 km/h. */
export function table(n: number): RoadPointTable {
  const rows = Array.from({ length: n }, (_, i) => `P${i},S,straight,100`);
  return parseRoadPoints(`point_id,nearest_weather_station,road_shape,allowed_speed\n${rows.join('\n')}\n`, 'test.csv');
}

/**
 * A vehicle on `point`, `lane` whose loop-1 occupancy is `occupiedS` seconds, leaving loop 2 at `t`
 * (its event time); 90 km/h, 2 s behind the one before.
 */
export function vehicle(t: number, point: number, lane = 1, occupiedS = 0.3): LoopEvent {
  return {
    tIn1: t - 1 - occupiedS,
    tOut1: t - 1,
    tIn2: t - 0.8,
    tOut2: t,
    speed: 90,
    gapM: 50,
    gapS: 2,
    length: 4.5,
    point,
    lane,
    partition: 0,
  };
}

/** `n` vehicles spread evenly over [from, from + 60) on `point`, lanes taken in turn from `lanes`. */
export function minuteOf(from: number, n: number, point: number, lanes: readonly number[] = [1]): LoopEvent[] {
  return Array.from({ length: n }, (_, i) => vehicle(from + ((i + 0.5) * 60) / n, point, lanes[i % lanes.length]));
}

export interface ShardRows {
  rows: Float64Array;
  rowCount: number;
  finalEnds: number[];
}

/**
 * The rows of every window end up to `flushTo` for `events` on `points` registered points, laid out
 * as a shard hands them over (no weather: the block says absent).
 */
export function shardRows(points: number, events: readonly LoopEvent[], flushTo: number): ShardRows {
  const kernel = new WasmKernel({ spec: SPEC, pointCapacity: points, partitions: 1, startWallClockS: flushTo });
  for (let p = 0; p < points; p++) kernel.setPoint(p, 100);
  const out: number[] = [];
  const finalEnds: number[] = [];
  const sink: KernelOutputSink = {
    onOutput(slice) {
      for (let r = 0; r < slice.rowCount; r++) {
        const row = new Array<number>(OUT_ROW_F64).fill(Number.NaN);
        for (let k = 0; k < ROW_F64; k++) row[k] = slice.rows[r * ROW_F64 + k];
        row[OUT_ROW_WEATHER + WEATHER_PRESENT] = 0;
        out.push(...row);
      }
      for (let k = 0; k < slice.finalEndCount; k++) finalEnds.push(slice.finalEnds[k]);
    },
  };
  kernel.ingestColumns(eventColumns([...events]), flushTo, sink);
  kernel.advanceWatermarkInto(flushTo, sink);
  if (out.length % OUT_ROW_F64 !== 0 || WEATHER_F64 !== OUT_ROW_F64 - ROW_F64) throw new Error('row layout');
  return { rows: Float64Array.from(out), rowCount: out.length / OUT_ROW_F64, finalEnds };
}

/** The record builder of the service with the shipped model, for `points`. */
export function builder(points: RoadPointTable): RiskRecordBuilder {
  return new RiskRecordBuilder(SPEC, points, new CalendarResolver({ holidays: [], startOffsetS: SPEC.shortS }), loadRiskModel(DEFAULT_MODEL_PATH));
}
