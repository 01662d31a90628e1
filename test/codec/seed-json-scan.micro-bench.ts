/**
 * Micro benchmark (not a test): ns per seed-JSON event, EventColumnsBuilder.appendJson (JSON.parse)
 * vs appendJsonBytes (byte scanner), in one process, alternating, medians of 5 runs; CPU time of
 * the process (process.cpuUsage), so that other load on the machine counts less than in wall time.
 *
 *   npx tsc --outDir /tmp/sr-bench --rootDir . --module NodeNext --moduleResolution NodeNext \
 *     --target ES2022 --skipLibCheck --types node test/codec/seed-json-scan.micro-bench.ts
 *   node --max-semi-space-size=256 /tmp/sr-bench/test/codec/seed-json-scan.micro-bench.js [events]
 *
 * Also prints heap bytes per event of one pass of each (heapUsed growth; meaningful only when no
 * scavenge ran in the pass, hence the large semi-space).
 */
import { DECODE_OK, EventColumnsBuilder, PointIndexBytes, type SeedLoopEvent, seedEventJson } from '../../src/codec/seed-json.js';
import { generateRoadPoints } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const RUNS = 5;
const points = generateRoadPoints(200, 7);
const events: SeedLoopEvent[] = [];
for (const e of generateTraffic({ points, ratePerSecond: 200 * 0.4, durationS: Math.ceil(EVENTS / 80) * 2 + 60, startS: 1_790_000_000, seed: 7, dailyProfile: false })) {
  events.push(e);
  if (events.length >= EVENTS) break;
}

/** Python json.dumps: ", " and ": ", floats by repr (always '.0' or an exponent), integer point ids. */
function pythonRepr(d: number): string {
  const s = String(d);
  return Number.isInteger(d) && Math.abs(d) < 1e16 ? `${s}.0` : s;
}
const numericId = new Map(points.map((p, i) => [p.pointId, i + 1]));
function pythonJson(e: SeedLoopEvent): string {
  return (
    `{"lane": ${e.lane}, "timestamp_in_1": ${pythonRepr(e.timestamp_in_1)}, "timestamp_out_1": ${pythonRepr(e.timestamp_out_1)}, ` +
    `"timestamp_in_2": ${pythonRepr(e.timestamp_in_2)}, "timestamp_out_2": ${pythonRepr(e.timestamp_out_2)}, "speed": ${pythonRepr(e.speed)}, ` +
    `"gap_meters": ${pythonRepr(e.gap_meters)}, "gap_seconds": ${pythonRepr(e.gap_seconds)}, "length": ${pythonRepr(e.length)}, "point_id": ${numericId.get(e.point_id)}}`
  );
}

interface Input {
  name: string;
  messages: Buffer[];
  ids: string[];
}
const inputs: Input[] = [
  { name: 'seedEventJson', messages: events.map((e) => Buffer.from(seedEventJson(e))), ids: points.map((p) => p.pointId) },
  { name: 'python json.dumps, integer ids', messages: events.map((e) => Buffer.from(pythonJson(e))), ids: points.map((_, i) => String(i + 1)) },
  {
    // Unrounded clock readings (Python time.time()): 16-17 significant digits, past the fast path.
    name: 'python json.dumps, full-precision timestamps',
    messages: events.map((e, k) => {
      const jitter = ((k * 7919) % 1000) * 1.234567e-7;
      return Buffer.from(pythonJson({ ...e, timestamp_in_1: e.timestamp_in_1 + jitter, timestamp_out_1: e.timestamp_out_1 + jitter, timestamp_in_2: e.timestamp_in_2 + jitter, timestamp_out_2: e.timestamp_out_2 + jitter }));
    }),
    ids: points.map((_, i) => String(i + 1)),
  },
];

/** CPU time (user + system) of this process since `began`, in ns: less noisy than wall time on a busy machine. */
function cpuNs(began: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(began);
  return (d.user + d.system) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const input of inputs) {
  const index = PointIndexBytes.fromIds(input.ids);
  const lookup = index.indexOf;
  const messages = input.messages;
  const oldBuilder = new EventColumnsBuilder(16_384);
  const newBuilder = new EventColumnsBuilder(16_384);
  let fallbacks = 0;
  const original = newBuilder.appendJson.bind(newBuilder);
  newBuilder.appendJson = (...args) => {
    fallbacks++;
    return original(...args);
  };
  const runOld = (): number => {
    const began = process.cpuUsage();
    for (let i = 0; i < messages.length; i++) {
      if (oldBuilder.isFull) oldBuilder.reset();
      if (oldBuilder.appendJson(messages[i], 0, lookup) !== DECODE_OK) throw new Error(`old: ${oldBuilder.detail}`);
    }
    oldBuilder.reset();
    return cpuNs(began) / messages.length;
  };
  const runNew = (): number => {
    const began = process.cpuUsage();
    for (let i = 0; i < messages.length; i++) {
      if (newBuilder.isFull) newBuilder.reset();
      const m = messages[i];
      if (newBuilder.appendJsonBytes(m, 0, m.length, 0, index) !== DECODE_OK) throw new Error(`new: ${newBuilder.detail}`);
    }
    newBuilder.reset();
    return cpuNs(began) / messages.length;
  };
  // Same rows (checked once, all events, 16k at a time).
  const a = new EventColumnsBuilder(messages.length);
  const b = new EventColumnsBuilder(messages.length);
  for (const m of messages) {
    a.appendJson(m, 1, lookup);
    b.appendJsonBytes(m, 0, m.length, 1, index);
  }
  for (const k of ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length', 'point', 'lane', 'partition'] as const) {
    for (let i = 0; i < messages.length; i++) if (!Object.is(a.columns[k][i], b.columns[k][i])) throw new Error(`${input.name}: row ${i} column ${k} differs`);
  }
  fallbacks = 0;
  for (let w = 0; w < 2; w++) {
    runOld();
    runNew();
  }
  const olds: number[] = [];
  const news: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    olds.push(runOld());
    news.push(runNew());
  }
  const heapPerEvent = (run: () => number): number => {
    const before = process.memoryUsage().heapUsed;
    run();
    return (process.memoryUsage().heapUsed - before) / messages.length;
  };
  const oldHeap = heapPerEvent(runOld);
  const newHeap = heapPerEvent(runNew);
  const o = median(olds);
  const n = median(news);
  console.log(
    `${input.name}: ${messages.length} events, ~${(messages.reduce((s, m) => s + m.length, 0) / messages.length).toFixed(0)} B each: ` +
      `appendJson ${o.toFixed(1)} ns/event, appendJsonBytes ${n.toFixed(1)} ns/event (x${(o / n).toFixed(2)}); ` +
      `heap ~${oldHeap.toFixed(1)} vs ~${newHeap.toFixed(1)} B/event; runs old [${olds.map((x) => x.toFixed(0)).join(' ')}] new [${news.map((x) => x.toFixed(0)).join(' ')}]; fallbacks ${fallbacks}`,
  );
  console.log(`  e.g. ${messages[0].toString()}`);
}
