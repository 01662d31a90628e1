/**
 * Suite "live": emission latency at the live rate. The bench produces seed-JSON loop events in real
 * time (event time = wall clock: each event is sent once the clock reaches its time, in order, a
 * send every few ms) while SaferoadsService runs in a child process (broker-child.ts mode "live",
 * 1 shard), and a consumer of the output topic in the bench records when each row arrives.
 *
 * A window end T becomes final when the stream watermark W = min over partitions of (largest event
 * time − grace) reaches T (src/pipeline/admission.ts): the record that does it is the last
 * partition's first event with time >= T + grace. The bench follows W over what it produced, so it
 * knows which send carried that record and when the broker acknowledged it (acks=all). Latency of
 * T = that acknowledgement → the arrival of T's rows on the output topic (the last of the points'
 * rows: the window end complete; the first row also reported). Only window ends whose final record
 * was produced live count (not those of the catch-up from the start of the minute). The output is
 * verified: the service's rowsOut and dead letters, and every window end's rows on the output topic.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedEventJson } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv, stationsOf } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import { KafkaClient, type OutgoingRecord } from '../../src/kafka/client.js';
import { ADVANCE_S, type Dataset, ExpectationBuilder, GRACE_S, PARTITIONS, partitionOfPoint } from '../lib/dataset.js';
import { fmt, fmtRate, percentile } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import type { ChildResult, ChildTask } from './broker-child.js';
import { checkService, type PreparedTopic } from './e2e.js';

const CHILD = fileURLToPath(new URL('./broker-child.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LiveSettings {
  brokers: string[];
  points: number;
  /** Vehicles per second per point. */
  ratePerPoint: number;
  /** Produce at least this long, and until `minLiveEnds` window ends became final live… */
  minSeconds: number;
  minLiveEnds: number;
  /** …but never longer than this. */
  maxSeconds: number;
  runs: number;
  shards: number;
  stallMs: number;
}

export interface LiveRun {
  events: number;
  produceSeconds: number;
  /** Event time covered (from the start of the first minute): events ÷ this is the input rate. */
  eventSeconds: number;
  windowEnds: number;
  rows: number;
  /** Per window end whose final record was produced live: ack → first row, ack → last row, ms. */
  ends: { end: number; firstMs: number; lastMs: number }[];
  /** Every row of those window ends: ack → its arrival, ms. */
  rowMs: number[];
  /** The service's own emission latency (watermark passing a window end → rows acknowledged). */
  serviceMs: number[];
}

export interface LiveResult {
  settings: Omit<LiveSettings, 'brokers'>;
  runs: LiveRun[];
}

interface Arrival {
  first: number;
  last: number;
  rows: number;
  times: number[];
}

/** Starts the service child; resolves `ready` on its READY line and `result` on its RESULT line. */
function startServiceChild(task: ChildTask) {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(task)], { stdio: ['pipe', 'pipe', 'pipe'] });
  // A child that already exited: its result (below) tells why, not an EPIPE.
  child.stdin.on('error', () => undefined);
  let out = '';
  let err = '';
  let readyNow!: () => void;
  const ready = new Promise<void>((resolve) => (readyNow = resolve));
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY\n')) readyNow();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`live service run failed (exit ${code}):\n${err.trim() || out.trim()}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
    });
  });
  // Awaited after the input is complete: a failure before then must not be an unhandled rejection.
  result.catch(() => undefined);
  return { child, ready: Promise.race([ready, result.then(() => undefined)]), result };
}

async function liveRun(s: LiveSettings, log: (line: string) => void): Promise<LiveRun> {
  const id = `saferoads-bench-live-${randomUUID().slice(0, 8)}`;
  const points = generateRoadPoints(s.points, 7);
  const pointsPath = join(mkdtempSync(join(tmpdir(), 'saferoads-bench-live-')), 'points.csv');
  writeFileSync(pointsPath, roadPointsCsv(points));
  const indexOf = new Map(points.map((p) => [p.pointId, p.index]));
  const carTopic = `${id}-car`;
  const weatherTopic = `${id}-weather`;
  const outputTopic = `${id}-risk`;
  const client = new KafkaClient({ brokers: s.brokers, clientId: 'saferoads-bench-live' });
  let service: ReturnType<typeof startServiceChild> | undefined;
  try {
    await client.ensureTopics([
      { topic: carTopic, partitions: PARTITIONS },
      { topic: weatherTopic, partitions: 1 },
      { topic: outputTopic, partitions: PARTITIONS },
    ]);
    const producer = await client.producer();
    try {
      // The last half hour of weather, up to now (readings ahead of the clock would be refused).
      const nowMin = Math.floor(Date.now() / 60_000) * 60;
      const weather = [...generateWeather({ stations: stationsOf(points), startS: nowMin - 1800, durationS: 1800, intervalS: 90, seed: 7 })];
      await producer.send(weatherTopic, weather.map((r) => ({ key: r.station, value: weatherJson(r) })));

      service = startServiceChild({
        mode: 'live',
        brokers: s.brokers,
        pointsPath,
        carTopic,
        weatherTopic,
        runId: id,
        shards: s.shards,
        graceS: GRACE_S,
        partitions: PARTITIONS,
        expected: { records: 0, events: 0, lastEnd: 0, rows: 0 },
        stallMs: s.stallMs,
      });
      await service.ready;

      const arrivals = new Map<number, Arrival>();
      const watcher = await client.consume({
        groupId: `${id}-watch`,
        topics: [outputTopic],
        fromBeginning: true,
        autoCommit: false,
        onBatch: async (records) => {
          const now = performance.now();
          for (const r of records) {
            const m = /"window_end":(-?\d+(?:\.\d+)?)/.exec(r.value?.toString('utf8', 0, 200) ?? '');
            if (!m) throw new Error(`live: an output row without window_end: ${r.value?.toString('utf8', 0, 120)}`);
            const end = Number(m[1]);
            const a = arrivals.get(end);
            if (a) {
              a.last = now;
              a.rows++;
              a.times.push(now);
            } else arrivals.set(end, { first: now, last: now, rows: 1, times: [now] });
          }
        },
      });
      try {
        await watcher.ready;
        // Real time from here: event time starts at the minute's start (its first seconds are sent
        // at once, a catch-up), then each event goes when the clock reaches its time.
        const r0 = Date.now() / 1000;
        const startS = Math.floor(r0 / 60) * 60;
        const liveFromS = r0 + 0.5;
        const traffic = generateTraffic({
          points,
          ratePerSecond: s.points * s.ratePerPoint,
          durationS: s.maxSeconds + 120,
          startS,
          seed: 7,
          dailyProfile: false,
        })[Symbol.iterator]();
        const expect = new ExpectationBuilder({ startS, points } as unknown as Dataset);
        const max = new Array<number>(PARTITIONS).fill(-Infinity);
        const finalAck = new Map<number, { ackMs: number; live: boolean }>();
        let nextEnd = startS;
        let events = 0;
        let liveEnds = 0;
        let next = traffic.next();
        for (;;) {
          const nowS = Date.now() / 1000;
          const records: OutgoingRecord[] = [];
          while (!next.done && next.value.timestamp_out_2 <= nowS) {
            const e = next.value;
            const p = partitionOfPoint(e.point_id);
            const t = e.timestamp_out_2;
            records.push({ key: e.point_id, value: seedEventJson(e), partition: p });
            expect.event(p, t);
            expect.record(p);
            if (t > max[p]) max[p] = t;
            next = traffic.next();
          }
          if (records.length > 0) {
            await producer.send(carTopic, records);
            const ackMs = performance.now();
            events += records.length;
            const w = Math.min(...max) - GRACE_S;
            for (; w >= nextEnd; nextEnd += ADVANCE_S) {
              const live = nextEnd + GRACE_S >= liveFromS;
              finalAck.set(nextEnd, { ackMs, live });
              if (live) liveEnds++;
            }
          }
          const elapsed = Date.now() / 1000 - r0;
          // The service exited early (an error): its result says why.
          if (service.child.exitCode !== null) await service.result;
          if ((elapsed >= s.minSeconds && liveEnds >= s.minLiveEnds) || elapsed >= s.maxSeconds || next.done) break;
          await sleep(5);
        }
        const produceSeconds = Date.now() / 1000 - r0;
        const eventSeconds = Date.now() / 1000 - startS;
        const expected = expect.build();
        service.child.stdin!.end(`${JSON.stringify({ records: expected.records, events: expected.events, lastEnd: expected.lastEnd, rows: expected.rows })}\n`);
        const result = await service.result;
        checkService({ expected } as PreparedTopic, result, 'live run');
        // Every window end's rows on the output topic (a few ms behind the service's acks).
        const deadline = performance.now() + 15_000;
        const counted = () => [...arrivals.values()].reduce((n, a) => n + a.rows, 0);
        while (counted() < expected.rows && performance.now() < deadline) await sleep(20);
        for (let end = expected.firstEnd; end <= expected.lastEnd; end += ADVANCE_S) {
          const rows = arrivals.get(end)?.rows ?? 0;
          if (rows !== points.length) throw new Error(`live: window end ${end} has ${rows} rows on ${outputTopic}, expected ${points.length}`);
        }
        if (counted() !== expected.rows) throw new Error(`live: ${counted()} rows on ${outputTopic}, expected ${expected.rows}`);
        const ends: LiveRun['ends'] = [];
        const rowMs: number[] = [];
        for (const [end, f] of finalAck) {
          const a = arrivals.get(end);
          if (!f.live || !a || end > expected.lastEnd) continue;
          ends.push({ end, firstMs: a.first - f.ackMs, lastMs: a.last - f.ackMs });
          for (const t of a.times) rowMs.push(t - f.ackMs);
        }
        log(
          `  live: ${fmt(events)} events in ${produceSeconds.toFixed(0)} s (${fmtRate(events / eventSeconds)}/s of event time), ${fmt(expected.rows)} rows verified; ` +
            `window ends final live: ${ends.map((e) => `${new Date(e.end * 1000).toISOString().slice(11, 16)} ${e.lastMs.toFixed(0)} ms`).join(', ') || 'none'}`,
        );
        return {
          events,
          produceSeconds,
          eventSeconds,
          windowEnds: expected.windowEnds,
          rows: expected.rows,
          ends,
          rowMs,
          serviceMs: result.latencyMs ?? [],
        };
      } finally {
        await watcher.close().catch(() => undefined);
      }
    } finally {
      await producer.close().catch(() => undefined);
    }
  } finally {
    if (service && service.child.exitCode === null) service.child.kill();
    await client.close().catch(() => undefined);
  }
}

export async function runLiveSuite(s: LiveSettings, log: (line: string) => void): Promise<LiveResult> {
  const runs: LiveRun[] = [];
  for (let run = 0; run < s.runs; run++) runs.push(await liveRun(s, log));
  const { brokers: _b, ...settings } = s;
  return { settings, runs };
}

export interface LiveSummary {
  ends: number;
  endP50: number;
  endP99: number;
  endMax: number;
}

export function liveSummary(r: LiveResult): LiveSummary | undefined {
  const last = r.runs.flatMap((x) => x.ends.map((e) => e.lastMs));
  if (last.length === 0) return undefined;
  return { ends: last.length, endP50: percentile(last, 50), endP99: percentile(last, 99), endMax: Math.max(...last) };
}

export function liveTable(r: LiveResult): Table {
  const line = (what: string, values: number[], samples: string) =>
    values.length === 0
      ? [what, '-', '-', '-', samples]
      : [what, percentile(values, 50).toFixed(0), percentile(values, 99).toFixed(0), Math.max(...values).toFixed(0), samples];
  const ends = r.runs.flatMap((x) => x.ends);
  const events = r.runs.reduce((n, x) => n + x.events, 0);
  const seconds = r.runs.reduce((n, x) => n + x.eventSeconds, 0);
  const s = r.settings;
  return {
    title: `emission latency at the live rate (${fmtRate(events / seconds)} events/s, ${fmt(s.points)} points, ${s.shards} shard, verified output)`,
    header: ['measure', 'p50 ms', 'p99 ms', 'max ms', 'samples'],
    rows: [
      line('final record acked → window end complete on the output topic', ends.map((e) => e.lastMs), `${ends.length} window ends`),
      line('final record acked → first row of the window end on the output topic', ends.map((e) => e.firstMs), `${ends.length} window ends`),
      line('final record acked → each row on the output topic', r.runs.flatMap((x) => x.rowMs), 'rows'),
      line('in the service: watermark passes the end → rows acked (stats)', r.runs.flatMap((x) => x.serviceMs), 'window ends, catch-up included'),
    ],
    notes: [
      `Seed JSON produced in real time: event time = wall clock (from the start of the current minute: its first seconds go at once), ${s.ratePerPoint} vehicles/s per point, ` +
        `a send every ~5 ms (acks=all), ${r.runs.map((x) => `${x.produceSeconds.toFixed(0)} s`).join(' + ')} of input while the service runs (its own process, default settings, no idle timeout needed: every partition has traffic).`,
      `"Final record": the last partition's first event at or after window end + grace (${GRACE_S} s), i.e. the one that moves W = min over partitions (max event time − grace) past the end; ` +
        'timed from the broker\'s acknowledgement of its send to the arrival (a kafkajs consumer in the bench) of the end\'s rows: the last of its points\' rows = complete.',
      'Only window ends whose final record was produced live count; one window end per minute of event time, so a run holds few samples: p99 of a handful is their maximum.',
      `Verified: the service's rowsOut (${r.runs.map((x) => `${fmt(x.windowEnds)} window ends × ${fmt(s.points)} points`).join(', ')}), no dead letters, and every window end's rows on the output topic.`,
    ],
  };
}
