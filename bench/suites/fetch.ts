/**
 * Suite "fetch": kafkajs consumer settings for the consume-only ceiling, side by side over the same
 * topic (the e2e suite's seed JSON). Every configuration is one child process per run, the
 * configurations interleaved run by run (round robin), so drift of the machine hits them alike;
 * each is compared with the same runs' defaults by the median of the per-run ratios.
 */
import type { FetchOptions } from '../../src/kafka/client.js';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import type { ChildResult } from './broker-child.js';
import { type PreparedTopic, runChild, task } from './e2e.js';

const MiB = 1 << 20;

export interface FetchConfig {
  name: string;
  fetch?: FetchOptions;
  /** Consumers of one group in the one process (default 1: KafkaClient.read). */
  consumers?: number;
}

export const FETCH_CONFIGS: readonly FetchConfig[] = [
  { name: 'defaults' },
  { name: 'maxBytes 1 MiB', fetch: { maxBytes: MiB } },
  { name: 'maxBytesPerPartition 4 MiB', fetch: { maxBytesPerPartition: 4 * MiB } },
  { name: 'maxBytesPerPartition 10 MiB, maxBytes 30 MiB', fetch: { maxBytesPerPartition: 10 * MiB, maxBytes: 30 * MiB } },
  { name: 'minBytes 1 MiB (maxWait 1 000 ms)', fetch: { minBytes: MiB } },
  { name: 'maxWaitTimeInMs 100', fetch: { maxWaitTimeInMs: 100 } },
  { name: 'partitionsConsumedConcurrently 3', fetch: { partitionsConsumedConcurrently: 3 } },
  { name: '2 consumers, one group, one process', consumers: 2 },
  { name: '2 consumers + maxBytesPerPartition 4 MiB', consumers: 2, fetch: { maxBytesPerPartition: 4 * MiB } },
];

export interface FetchFigure {
  name: string;
  fetch?: FetchOptions;
  consumers: number;
  eventsPerS: Summary;
  recordsPerS: Summary;
  startupS: Summary;
  /** Per run: this configuration's rate ÷ the defaults' rate of the same run. */
  ratio: Summary;
}

export interface FetchResult {
  format: string;
  records: number;
  events: number;
  bytes: number;
  runs: number;
  figures: FetchFigure[];
  /** The best non-default configuration, when it beats the defaults by more than 15 % (median ratio). */
  winner?: { name: string; ratio: number };
}

/**
 * From the group join (the first fetch goes out) to the last record: a large first fetch is
 * counted (from the first record it would mostly not be).
 */
const rate = (n: number, r: ChildResult) => n / ((r.doneMs - r.joinedMs!) / 1000);

export async function runFetchSuite(
  s: { brokers: string[]; stallMs: number; runs: number; maxRecords?: number; configs?: readonly FetchConfig[] },
  topic: PreparedTopic,
  log: (line: string) => void,
): Promise<FetchResult> {
  const configs = s.configs ?? FETCH_CONFIGS;
  // At most maxRecords (seed JSON: one event each), the same share of every partition.
  const all = topic.expected.records;
  const share = s.maxRecords !== undefined && s.maxRecords < all ? s.maxRecords / all : 1;
  const until = topic.expected.partitionRecords.map((n) => Math.floor(n * share));
  const records = until.reduce((a, b) => a + b, 0);
  const events = share === 1 ? topic.expected.events : records;
  if (share < 1 && topic.format !== 'json') throw new Error('fetch: a prefix of the topic needs one event per record (seed JSON)');
  const t: PreparedTopic = { ...topic, bytes: Math.round(topic.bytes * share), expected: { ...topic.expected, records, events } };
  const prefix = share < 1 ? Object.fromEntries(until.map((o, p) => [String(p), o])) : undefined;
  const samples = configs.map((): ChildResult[] => []);
  for (let run = 0; run < s.runs; run++) {
    for (const [i, c] of configs.entries()) {
      const r = await runChild({ ...task(s, t, 'consume', 0), fetch: c.fetch, consumers: c.consumers ?? 1, group: true, until: prefix }, []);
      if (r.joinedMs === undefined) throw new Error(`fetch: ${c.name}: the consumer never reported joining its group`);
      samples[i].push(r);
      log(`  fetch: run ${run + 1}/${s.runs} ${c.name}: ${fmtRate(rate(t.expected.events, r))} events/s after the group join`);
    }
  }
  const base = samples[0].map((r) => rate(t.expected.events, r));
  const figures = configs.map((c, i): FetchFigure => {
    const rs = samples[i];
    return {
      name: c.name,
      fetch: c.fetch,
      consumers: c.consumers ?? 1,
      eventsPerS: summarize(rs.map((r) => rate(t.expected.events, r))),
      recordsPerS: summarize(rs.map((r) => rate(t.expected.records, r))),
      startupS: summarize(rs.map((r) => r.joinedMs! / 1000)),
      ratio: summarize(rs.map((r, k) => rate(t.expected.events, r) / base[k])),
    };
  });
  const best = figures.slice(1).reduce<FetchFigure | undefined>((a, b) => (a === undefined || b.ratio.median > a.ratio.median ? b : a), undefined);
  const winner = best && best.ratio.median > 1.15 && s.runs >= 3 ? { name: best.name, ratio: best.ratio.median } : undefined;
  return { format: t.format, records: t.expected.records, events: t.expected.events, bytes: t.bytes, runs: s.runs, figures, winner };
}

export function fetchTable(r: FetchResult): Table {
  const best = r.figures.slice(1).reduce((a, b) => (b.ratio.median > a.ratio.median ? b : a), r.figures[1] ?? r.figures[0]);
  const verdict = r.winner
    ? `"${r.winner.name}" wins: ${r.winner.ratio.toFixed(2)} × the defaults (median of per-run ratios over ${r.runs} runs; > 1.15 counts as a clear win).`
    : r.runs < 3
      ? `${r.runs} run(s): too few to call a winner (>= 3 needed); best here "${best.name}" at ${best.ratio.median.toFixed(2)} ×.`
      : `no setting beats the defaults by more than 15 % (best: "${best.name}", ${best.ratio.median.toFixed(2)} × median over ${r.runs} runs).`;
  return {
    title: `kafkajs consumer settings: consume-only ceiling on ${r.format === 'json' ? 'seed JSON' : r.format} (${fmt(r.records)} records, ${(r.bytes / 2 ** 20).toFixed(0)} MiB)`,
    header: ['setting', 'events/s after group join', 'records/s', '× defaults (median, min–max)', 'join s', 'runs'],
    rows: r.figures.map((f) => [
      f.name,
      fmtSummary(f.eventsPerS),
      fmtRate(f.recordsPerS.median),
      f === r.figures[0] ? '1.00' : `${f.ratio.median.toFixed(2)} (${f.ratio.min.toFixed(2)}–${f.ratio.max.toFixed(2)})`,
      fmtSummary(f.startupS, (n) => n.toFixed(1)),
      String(f.eventsPerS.n),
    ]),
    notes: [
      'defaults: kafkajs maxBytes 10 MiB, maxBytesPerPartition 1 MiB, minBytes 1, maxWaitTimeInMs 1 000 (KafkaClient), partitionsConsumedConcurrently 1.',
      'One process per run: KafkaClient.consume (fetch option; a fresh group, from the beginning) timed from its group join to the last record; the "2 consumers" rows run two of one group in the process, sharing the 3 partitions.',
      'minBytes: the last fetch of each partition waits maxWaitTimeInMs for bytes that never come, which a short run feels.',
      `Configurations interleaved run by run; "× defaults" is the median of each run's ratio to the defaults of that run. ${verdict}`,
    ],
  };
}
