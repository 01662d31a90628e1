/**
 * `npm run bench -- [--quick] [--suites a,b] [--events K] [--runs N] [--profile DIR]`
 *
 * Throughput, latency and memory of saferoads on this machine: the window kernel, decoding, the
 * sharded host stage without Kafka, the whole service through a real broker (verified output), the
 * consume-only ceiling of the Kafka client, FlatBuffers events per message (1–1000), kafkajs fetch
 * settings, a pandas baseline on the same data, and emission latency at a live (real-time) rate. Prints one table per suite and writes every figure
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
import { RATE_PER_POINT } from './lib/dataset.js';
import { ArgsError, type BenchArgs, parseArgs, USAGE } from './lib/args.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { topFunctions } from './lib/profile.js';
import { fmt, fmtRate } from './lib/stats.js';
import { renderTable, type Table } from './lib/table.js';
import { decodeTable, runDecodeSuite, type DecodeResult } from './suites/decode.js';
import { ceilingTable, e2eTable, prepareBrokerData, runBrokerSuites, type E2eResult } from './suites/e2e.js';
import { batchTable, runBatchSuite, type BatchResult } from './suites/batch.js';
import { FETCH_CONFIGS, fetchTable, runFetchSuite, type FetchResult } from './suites/fetch.js';
import { liveSummary, liveTable, runLiveSuite, type LiveResult } from './suites/live.js';
import { pandasTable, runPandasSuite, type PandasResult } from './suites/pandas.js';
import { kernelTable, runKernelSuite, type KernelResult } from './suites/kernel.js';
import { runShardsSuite, shardCountsUpTo, shardsTable, type ShardsResult } from './suites/shards.js';

interface Results {
  kernel?: KernelResult;
  decode?: DecodeResult;
  shards?: ShardsResult;
  e2e?: E2eResult;
  batch?: BatchResult;
  fetch?: FetchResult;
  pandas?: PandasResult;
  live?: LiveResult;
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
    // --quick: 3 runs of decode and shards (5 in a full run) to leave time for the broker suites.
    decode: { events: q ? 100_000 : 500_000, points: 1000, runs: a.runs ?? (q ? 3 : 5), allocEvents: q ? 100_000 : 200_000 },
    shards: { events: q ? 200_000 : 1_000_000, points: q ? 250 : 1000, runs: a.runs ?? (q ? 3 : 5), shardCounts, formats: ['json', 'flatbuffers'] as const },
    broker: {
      // Enough for >= 20 s of steady-state work per run at the rates measured on a 2-core VM (JSON
      // ~140 k events/s, FlatBuffers ~370 k events/s); --events sets both.
      events: { json: a.events ?? (q ? 150_000 : 3_000_000), flatbuffers: a.events ?? (q ? 150_000 : 8_000_000) },
      points: q ? 250 : 1000,
      formats: ['json', 'flatbuffers'] as const,
      shardCounts,
      runs: a.runs ?? (q ? 2 : 5),
      ceilingRuns: a.runs ?? (q ? 3 : 5),
      profileDir: a.profileDir,
      stallMs: 30_000,
    },
    // The same events grouped 1, 10, 100, 1000 per FlatBuffers message; 1 shard (the e2e suite has 1 and 2).
    batch: { events: q ? 100_000 : 600_000, points: q ? 250 : 1000, sizes: [1, 10, 100, 1000], runs: a.runs ?? (q ? 1 : 3), shards: 1, stallMs: 30_000 },
    // >= 3 runs even with --quick: a winner is called on the median of >= 3 per-run ratios.
    // A full run reads the first 1 M records of the seed-JSON topic per run (27 runs).
    fetch: { runs: a.runs ?? 3, stallMs: 30_000, maxRecords: q ? undefined : 1_000_000 },
    pandas: { runs: a.runs ?? 1 },
    // Real time: 1,000 points at the generator's 0.4 vehicles/s each (~400 events/s); one window
    // end per minute of event time, so the run lasts until some became final while live.
    live: { points: 1000, ratePerPoint: RATE_PER_POINT, minSeconds: q ? 20 : 90, minLiveEnds: q ? 1 : 2, maxSeconds: q ? 65 : 125, runs: 1, shards: 1, stallMs: 30_000 },
  };
}

/** Window state per point of the default windows (WasmKernel.bytesPerPoint). */
function bytesPerPoint(): number {
  return new WasmKernel({ spec: windowSpec(), pointCapacity: 1, partitions: 3, startWallClockS: Date.now() / 1000 }).bytesPerPoint;
}

function targets(r: Results, statePerPoint: number, machine: { cores: number; availableParallelism: number }): Target[] {
  const out: Target[] = [];
  if (r.kernel) {
    const v = r.kernel.wasmPaneUpdatesPerS;
    const resident = Math.max(...r.kernel.figures.filter((f) => f.name.startsWith('wasm') && f.name.includes('points)')).map((f) => f.eventsPerS.median));
    out.push({
      target: 'WASM kernel >= 30 M pane updates/s at 10,000 points',
      measured: `${fmtRate(v)}/s at ${fmt(r.kernel.points)} points (${fmtRate(resident)}/s cache-resident)`,
      met: v >= 30e6,
      note: 'best WASM variant, median',
    });
  }
  // Engine ÷ the consume-only ceiling of the same run and topic, per input format.
  for (const [format, label] of [
    ['json', 'seed JSON'],
    ['flatbuffers', 'FlatBuffers'],
  ] as const) {
    const runs = r.e2e?.e2e.filter((f) => f.format === format) ?? [];
    const ceiling = r.e2e?.ceiling.find((c) => c.format === format);
    if (runs.length === 0 || !ceiling) continue;
    const best = runs.reduce((a, b) => (b.streamEventsPerS.median > a.streamEventsPerS.median ? b : a));
    const share = best.streamEventsPerS.median / ceiling.streamEventsPerS.median;
    out.push({
      target: `engine on ${label} >= 0.8 × kafkajs consume-only`,
      measured: `${share.toFixed(2)} × (${fmtRate(best.streamEventsPerS.median)} vs ${fmtRate(ceiling.streamEventsPerS.median)} events/s, ${best.shards} shard(s))`,
      met: share >= 0.8,
      note: 'same run and topic; steady state (after the first record)',
    });
  }
  const shardRatios = (['json', 'flatbuffers'] as const).flatMap((format) => {
    const one = r.e2e?.e2e.find((f) => f.format === format && f.shards === 1);
    const two = r.e2e?.e2e.find((f) => f.format === format && f.shards === 2);
    return one && two ? [{ format, ratio: two.streamEventsPerS.median / one.streamEventsPerS.median }] : [];
  });
  if (shardRatios.length > 0) {
    const worst = Math.min(...shardRatios.map((x) => x.ratio));
    out.push({
      target: '2 shards >= 1.5 × 1 shard',
      measured: shardRatios.map((x) => `${x.ratio.toFixed(2)} × ${x.format === 'json' ? 'seed JSON' : 'FlatBuffers'}`).join(', '),
      met: worst >= 1.5,
      note:
        machine.availableParallelism <= 2
          ? `availableParallelism ${machine.availableParallelism}: the host thread and kafkajs need a core, so 2 shards share one core here`
          : `availableParallelism ${machine.availableParallelism}`,
    });
  }
  const live = r.live ? liveSummary(r.live) : undefined;
  const replay = r.e2e?.e2e ?? [];
  const replayWorst = replay.length > 0 ? replay.reduce((a, b) => (b.latencyP99Ms.median > a.latencyP99Ms.median ? b : a)) : undefined;
  const replayNote = replayWorst ? `full-speed replay (in the service): p99 up to ${replayWorst.latencyP99Ms.median.toFixed(0)} ms` : '';
  if (live) {
    out.push({
      target: 'emission latency p99 <= 50 ms at the live rate',
      measured: `${live.endP99.toFixed(0)} ms p99, ${live.endP50.toFixed(0)} ms p50 over ${live.ends} window end(s)`,
      met: live.endP99 <= 50,
      note: `final record acked → rows on the output topic${replayNote ? `; ${replayNote}` : ''}`,
    });
  } else if (replayWorst) {
    out.push({ target: 'emission latency p99 <= 50 ms at the live rate', measured: 'not measured (suite "live" not run)', met: null, note: replayNote });
  }
  if (r.pandas) {
    const engine = r.e2e?.e2e.find((f) => f.format === 'json' && f.shards === 1);
    const p = r.pandas.eventsPerS;
    out.push({
      target: '>= 5 × the pandas client on the same data',
      measured: p
        ? engine
          ? `${(engine.streamEventsPerS.median / p.median).toFixed(1)} × (${fmtRate(engine.streamEventsPerS.median)} vs ${fmtRate(p.median)} events/s)`
          : `pandas ${fmtRate(p.median)} events/s (no e2e figure to compare)`
        : `skipped: ${r.pandas.skipped ?? 'no figure'}`,
      met: p && engine ? engine.streamEventsPerS.median / p.median >= 5 : null,
      note: 'seed JSON, engine with 1 shard, both after the first record',
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
    const brokerSuites = ['e2e', 'ceiling', 'batch', 'fetch', 'pandas', 'live'] as const;
    if (brokerSuites.some((x) => run.has(x))) {
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
      const brokers = [...cluster.brokers];
      // fetch and pandas read the seed-JSON topic of the e2e suite.
      const formats = run.has('e2e') || run.has('ceiling') ? [...s.broker.formats] : run.has('fetch') || run.has('pandas') ? (['json'] as const) : [];
      const bs = { ...s.broker, brokers, formats: [...formats] };
      if (bs.formats.length > 0) {
        log(`producing ${bs.formats.map((f) => `${fmt(bs.events[f])} ${f}`).join(' and ')} loop events…`);
        const data = await prepareBrokerData(bs, log);
        if (run.has('e2e') || run.has('ceiling')) {
          results.e2e = await runBrokerSuites(bs, data, { e2e: run.has('e2e'), ceiling: run.has('ceiling') }, log);
          if (results.e2e.ceiling.length > 0) print(ceilingTable(results.e2e));
          if (results.e2e.e2e.length > 0) {
            print(e2eTable(results.e2e, args.quick ? `--quick: ${bs.runs} e2e runs per configuration (a full run does 5).` : undefined));
          }
        }
        const json = data.topics.find((t) => t.format === 'json');
        if (run.has('fetch') && json) {
          log(`fetch suite: ${FETCH_CONFIGS.length} kafkajs consumer settings × ${s.fetch.runs} runs over the seed-JSON topic…`);
          results.fetch = await runFetchSuite({ ...s.fetch, brokers }, json, log);
          print(fetchTable(results.fetch));
        }
        if (run.has('pandas') && json) {
          log('pandas suite: the data-science baseline over the seed-JSON topic…');
          results.pandas = await runPandasSuite({ ...s.pandas, brokers }, json, log);
          const engine = results.e2e?.e2e.find((f) => f.format === 'json' && f.shards === 1);
          print(pandasTable(results.pandas, engine ? { eventsPerS: engine.streamEventsPerS.median, shards: 1 } : undefined));
        }
      }
      if (run.has('live')) {
        log(`live suite: ~${fmt(s.live.points * s.live.ratePerPoint)} events/s in real time for ${s.live.minSeconds}+ s…`);
        results.live = await runLiveSuite({ ...s.live, brokers }, log);
        print(liveTable(results.live));
      }
      if (run.has('batch')) {
        log(`batch suite: ${fmt(s.batch.events)} events as FlatBuffers messages of ${s.batch.sizes.join(', ')} events…`);
        results.batch = await runBatchSuite({ ...s.batch, brokers }, log);
        const fb = results.e2e?.e2e.find((f) => f.format === 'flatbuffers' && f.shards === 1);
        const fbTopic = results.e2e?.topics.find((t) => t.format === 'flatbuffers');
        print(batchTable(results.batch, fb && fbTopic ? { eventsPerS: fb.streamEventsPerS.median, perMessage: fbTopic.events / fbTopic.records } : undefined));
      }
    }
  } finally {
    if (cluster) await cluster.release().catch((error: unknown) => log(`warning: stopping the broker: ${String(error)}`));
  }

  const t = targets(results, statePerPoint, machine);
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
