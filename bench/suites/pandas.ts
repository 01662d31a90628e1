/**
 * Suite "pandas": the baseline of a data-science notebook (bench/pandas/minute_client.py:
 * confluent-kafka + json.loads + pandas groupby of the 1- and 10-minute windows per point, once per
 * minute of event time) over the e2e suite's seed-JSON topic, one child process per run. Needs a
 * python3 with pandas and confluent_kafka; without one the figure is skipped (the bench goes on).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KafkaClient } from '../../src/kafka/client.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { runResultChild } from '../lib/child.js';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import type { PreparedTopic } from './e2e.js';

const SCRIPT = join(PACKAGE_ROOT, 'bench', 'pandas', 'minute_client.py');

interface PandasRun {
  events: number;
  seconds: number;
  windowEnds: number;
  rows: number;
  pandas: string;
}

export interface PandasResult {
  skipped?: string;
  python?: string;
  pandasVersion?: string;
  events: number;
  eventsPerS?: Summary;
  windowEnds?: number;
  rows?: number;
}

/** The first python3 that imports pandas and confluent_kafka, or why there is none. */
export function findPython(): { python: string } | { skipped: string } {
  const candidates = [...new Set([process.env.SAFEROADS_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
  const why: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import pandas, confluent_kafka'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return { python };
    const last = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').at(-1);
    why.push(`${python}: ${last}`);
  }
  return { skipped: `no python3 with pandas and confluent_kafka (${why.join('; ')}); install python3-pandas and python3-confluent-kafka, or set SAFEROADS_BENCH_PYTHON` };
}

function runPython(python: string, arg: string): Promise<PandasRun> {
  return runResultChild<PandasRun>([SCRIPT, arg], 'pandas client', python);
}

export async function runPandasSuite(s: { brokers: string[]; runs: number }, t: PreparedTopic, log: (line: string) => void): Promise<PandasResult> {
  const found = findPython();
  if ('skipped' in found) {
    log(`  pandas: skipped: ${found.skipped}`);
    return { skipped: found.skipped, events: t.expected.events };
  }
  const client = new KafkaClient({ brokers: s.brokers, clientId: 'saferoads-bench-pandas' });
  let until: Map<number, bigint>;
  try {
    until = await client.endOffsets(t.topic);
  } finally {
    await client.close();
  }
  const arg = JSON.stringify({
    brokers: s.brokers,
    topic: t.topic,
    until: Object.fromEntries([...until].map(([p, o]) => [String(p), Number(o)])),
    events: t.expected.events,
  });
  const runs: PandasRun[] = [];
  for (let run = 0; run < s.runs; run++) {
    const r = await runPython(found.python, arg);
    if (r.events !== t.expected.events) throw new Error(`pandas client read ${r.events} events, expected ${t.expected.events}`);
    runs.push(r);
    log(`  pandas: run ${run + 1}/${s.runs}: ${fmtRate(r.events / r.seconds)} events/s (${r.seconds.toFixed(1)} s, ${fmt(r.windowEnds)} window ends, ${fmt(r.rows)} point rows)`);
  }
  return {
    python: found.python,
    pandasVersion: runs[0].pandas,
    events: t.expected.events,
    eventsPerS: summarize(runs.map((r) => r.events / r.seconds)),
    windowEnds: runs[0].windowEnds,
    rows: runs[0].rows,
  };
}

export function pandasTable(r: PandasResult, engine: { eventsPerS: number; shards: number } | undefined): Table {
  if (r.skipped || !r.eventsPerS) {
    return { title: 'pandas baseline (skipped)', header: ['client', 'events/s'], rows: [['pandas (minute_client.py)', 'skipped']], notes: [r.skipped ?? 'no figure'] };
  }
  const rows = [['pandas + confluent-kafka (bench/pandas/minute_client.py)', fmtSummary(r.eventsPerS), '1.00', String(r.eventsPerS.n)]];
  if (engine) rows.push([`saferoads engine, ${engine.shards} shard (e2e suite, same topic)`, fmtRate(engine.eventsPerS), `${(engine.eventsPerS / r.eventsPerS.median).toFixed(1)} ×`, '-']);
  return {
    title: `pandas baseline on the same seed-JSON topic (${fmt(r.events)} events)`,
    header: ['client', 'events/s after 1st record', '× pandas', 'runs'],
    rows,
    notes: [
      `pandas ${r.pandasVersion} (${r.python}): json.loads of every record; once per minute of event time, groupby point of the last 1 and 10 minutes: count, mean speed, speed variance, occupancy ` +
        `(${fmt(r.windowEnds!)} window ends, ${fmt(r.rows!)} point rows); no join, scoring or output. Its event count is checked.`,
      'Both rates from the first record to the last (the engine: to its last window end acknowledged).',
    ],
  };
}
