/**
 * `npm run bench -- [--quick] [--suites a,b] [--events K] [--runs N] [--profile DIR]`
 *
 * Throughput, latency and memory of saferoads on this machine: the window kernel, decoding, the
 * sharded host stage without Kafka, the whole service through a real broker (verified output) and
 * the consume-only ceiling of the Kafka client. Prints one table per suite and writes every figure
 * with the machine, commit and settings to bench/results/<ISO date>-<commit>.json and latest.json.
 * Targets are printed next to the figures, never asserted. A run whose output is wrong, or a broker
 * that cannot start, fails the bench (exit 1) without a figure.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireCluster, type Cluster } from '../src/kafka/cluster.js';
import { WasmKernel } from '../src/kernel/wasm-kernel.js';
import { windowSpec } from '../src/kernel/window-spec.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { ArgsError, type BenchArgs, parseArgs, USAGE } from './lib/args.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { topFunctions } from './lib/profile.js';
import { fmt, fmtRate } from './lib/stats.js';
import { renderTable, type Table } from './lib/table.js';
import { decodeTable, runDecodeSuite, type DecodeResult } from './suites/decode.js';
import { ceilingTable, e2eTable, prepareBrokerData, runBrokerSuites, type E2eResult } from './suites/e2e.js';
import { kernelTable, runKernelSuite, type KernelResult } from './suites/kernel.js';
import { runShardsSuite, shardCountsUpTo, shardsTable, type ShardsResult } from './suites/shards.js';

interface Results {
  kernel?: KernelResult;
  decode?: DecodeResult;
  shards?: ShardsResult;
  e2e?: E2eResult;
}

interface Target {
  target: string;
  measured: string;
  met: boolean | null;
  note: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const print = (table: Table) => process.stdout.write(renderTable(table));

function settingsFor(a: BenchArgs) {
  const q = a.quick;
  const runs = a.runs ?? 5;
  const shardCounts = shardCountsUpTo();
  return {
    kernel: { events: q ? 200_000 : 1_000_000, points: 10_000, runs, iterations: q ? 5 : 10, referenceRuns: q ? 1 : runs },
    decode: { events: q ? 100_000 : 500_000, points: 1000, runs, allocEvents: q ? 100_000 : 200_000 },
    shards: { events: q ? 200_000 : 1_000_000, points: q ? 250 : 1000, runs, shardCounts, formats: ['json', 'flatbuffers'] as const },
    broker: {
      // Enough for >= 20 s of steady-state work per run at the rates measured on a 2-core VM (JSON
      // ~140 k events/s, FlatBuffers ~370 k events/s); --events sets both.
      events: { json: a.events ?? (q ? 150_000 : 3_000_000), flatbuffers: a.events ?? (q ? 150_000 : 8_000_000) },
      points: q ? 250 : 1000,
      formats: ['json', 'flatbuffers'] as const,
      shardCounts,
      runs: a.runs ?? (q ? 2 : 5),
      ceilingRuns: runs,
      profileDir: a.profileDir,
      stallMs: 30_000,
    },
  };
}

/** Window state per point of the default windows (WasmKernel.bytesPerPoint). */
function bytesPerPoint(): number {
  return new WasmKernel({ spec: windowSpec(), pointCapacity: 1, partitions: 3, startWallClockS: Date.now() / 1000 }).bytesPerPoint;
}

function targets(r: Results, statePerPoint: number, cores: number): Target[] {
  const out: Target[] = [];
  if (r.kernel) {
    const v = r.kernel.wasmPaneUpdatesPerS;
    const resident = Math.max(...r.kernel.figures.filter((f) => f.name.startsWith('wasm') && f.name.includes('points)')).map((f) => f.eventsPerS.median));
    out.push({
      target: 'WASM kernel >= 50 M pane updates/s',
      measured: `${fmtRate(v)}/s at ${fmt(r.kernel.points)} points (${fmtRate(resident)}/s cache-resident)`,
      met: v >= 50e6,
      note: 'best WASM variant, median',
    });
  }
  const json = r.e2e?.e2e.filter((f) => f.format === 'json') ?? [];
  const jsonCeiling = r.e2e?.ceiling.find((c) => c.format === 'json');
  if (json.length > 0 && jsonCeiling) {
    const best = json.reduce((a, b) => (b.streamEventsPerS.median > a.streamEventsPerS.median ? b : a));
    const share = best.streamEventsPerS.median / jsonCeiling.streamEventsPerS.median;
    out.push({
      target: 'engine on seed JSON >= 0.8 × consume-only ceiling',
      measured: `${share.toFixed(2)} × (${fmtRate(best.streamEventsPerS.median)} vs ${fmtRate(jsonCeiling.streamEventsPerS.median)} events/s, ${best.shards} shard(s))`,
      met: share >= 0.8,
      note: 'steady state (after the first record)',
    });
  }
  const fb = r.e2e?.e2e.filter((f) => f.format === 'flatbuffers') ?? [];
  if (fb.length > 0) {
    const best = fb.reduce((a, b) => (b.eventsPerS.median > a.eventsPerS.median ? b : a));
    out.push({
      target: 'FlatBuffers end to end >= 2 M events/s on 2 cores',
      measured: `${fmtRate(best.eventsPerS.median)} events/s from start (${fmtRate(best.streamEventsPerS.median)} after the 1st record), ${best.shards} shard(s)`,
      met: best.eventsPerS.median >= 2e6,
      note: `this machine: ${cores} cores`,
    });
  }
  const all = r.e2e?.e2e ?? [];
  if (all.length > 0) {
    const worst = all.reduce((a, b) => (b.latencyP99Ms.median > a.latencyP99Ms.median ? b : a));
    const best = all.reduce((a, b) => (b.latencyP99Ms.median < a.latencyP99Ms.median ? b : a));
    out.push({
      target: 'emission latency p99 <= 50 ms',
      measured: `${worst.latencyP99Ms.median.toFixed(0)} ms worst (${worst.format}, ${worst.shards} shard(s)); ${best.latencyP99Ms.median.toFixed(0)} ms best (${best.format}, ${best.shards})`,
      met: worst.latencyP99Ms.median <= 50,
      note: 'replay at full speed: window ends queue behind ingest',
    });
  }
  out.push({
    target: 'window state <= 2 KB per point',
    measured: `${fmt(statePerPoint)} bytes (WasmKernel.bytesPerPoint, default windows)`,
    met: statePerPoint <= 2048,
    note: '',
  });
  return out;
}

function targetsTable(t: Target[]): Table {
  return {
    title: 'targets (reported, not asserted)',
    header: ['target', 'measured', 'met', 'note'],
    rows: t.map((x) => [x.target, x.measured, x.met === null ? '-' : x.met ? 'yes' : 'NO', x.note]),
  };
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ArgsError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const began = performance.now();
  const startedAt = new Date();
  const machine = machineInfo();
  const s = settingsFor(args);
  const run = new Set(args.suites);
  process.stdout.write(`# saferoads bench${args.quick ? ' (--quick)' : ''}: ${args.suites.join(', ')}\n${machineLine(machine)}\n`);
  if (machine.loadAverage1m > 0.5) log(`note: load average ${machine.loadAverage1m.toFixed(2)}: other work on this machine lowers the figures`);

  const results: Results = {};
  const statePerPoint = bytesPerPoint();
  let cluster: Cluster | undefined;
  let brokerInfo: { kind: string; startMs: number; fetchMs: number } | undefined;
  try {
    if (run.has('kernel')) {
      log('kernel suite…');
      results.kernel = await runKernelSuite(s.kernel, log);
      print(kernelTable(results.kernel));
    }
    if (run.has('decode')) {
      log('decode suite…');
      results.decode = await runDecodeSuite(s.decode, log);
      print(decodeTable(results.decode));
    }
    if (run.has('shards')) {
      log('shards suite…');
      results.shards = await runShardsSuite({ ...s.shards, formats: [...s.shards.formats] }, log);
      print(shardsTable(results.shards));
    }
    if (run.has('e2e') || run.has('ceiling')) {
      log('starting the broker…');
      const t = performance.now();
      try {
        cluster = await acquireCluster();
      } catch (error) {
        throw new Error(`cannot start or reach the Kafka broker: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      brokerInfo = { kind: cluster.kind, startMs: performance.now() - t, fetchMs: cluster.timings.fetchMs };
      log(`  Kafka (${cluster.kind}) at ${cluster.brokers.join(',')} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      if (args.profileDir) mkdirSync(args.profileDir, { recursive: true });
      const bs = { ...s.broker, brokers: [...cluster.brokers], formats: [...s.broker.formats] };
      log(`producing ${bs.formats.map((f) => `${fmt(bs.events[f])} ${f}`).join(' and ')} loop events…`);
      const data = await prepareBrokerData(bs, log);
      results.e2e = await runBrokerSuites(bs, data, { e2e: run.has('e2e'), ceiling: run.has('ceiling') }, log);
      if (results.e2e.ceiling.length > 0) print(ceilingTable(results.e2e));
      if (results.e2e.e2e.length > 0) {
        print(e2eTable(results.e2e, args.quick ? `--quick: ${bs.runs} e2e runs per configuration (a full run does 5).` : undefined));
      }
    }
  } finally {
    if (cluster) await cluster.release().catch((error: unknown) => log(`warning: stopping the broker: ${String(error)}`));
  }

  const t = targets(results, statePerPoint, machine.cores);
  print(targetsTable(t));

  const profiles: Record<string, ReturnType<typeof topFunctions>> = {};
  if (args.profileDir && results.e2e) {
    for (const file of readdirSync(args.profileDir).filter((f) => f.endsWith('.cpuprofile') && f.includes('run1')).sort()) {
      const p = topFunctions(join(args.profileDir, file), 12);
      profiles[file] = p;
      print({
        title: `CPU profile ${file}: top functions by self time (main thread, ${(p.totalMs / 1000).toFixed(1)} s)`,
        header: ['function', 'where', 'self ms', 'share'],
        rows: p.top.map((f) => [f.name, f.where, f.selfMs.toFixed(0), `${(100 * f.share).toFixed(1)} %`]),
      });
    }
  }

  const durationS = (performance.now() - began) / 1000;
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const report = {
    tool: 'saferoads bench',
    startedAt: startedAt.toISOString(),
    durationS,
    machine,
    args,
    settings: s,
    broker: brokerInfo,
    windowStateBytesPerPoint: statePerPoint,
    results,
    targets: t,
    profiles,
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const file = join(dir, `${stamp}-${machine.shortCommit}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  process.stdout.write(`\nresults: ${file} (and bench/results/latest.json), ${durationS.toFixed(0)} s in all\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nbench FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
