/**
 * The fault suite's verdict: a run under faults against the fault-free run of the same input.
 *
 * - every (point_id, window_end) of the fault-free run is in the faulty run (nothing missing);
 * - every row of the faulty run, duplicates included, is byte-identical (the value string) to the
 *   fault-free row of its (point_id, window_end) (nothing differing), and carries it as its key;
 * - no (point_id, window_end) beyond the fault-free set (nothing extra);
 * - car.dlq holds exactly the bad records the case injected (none unless it injects some), each with
 *   its provenance headers and its original key and value (or, marked truncated, a prefix of the value
 *   and its original length); weather.dlq holds nothing;
 * - no service process exited unless the harness asked it to, and a graceful stop exited 0.
 *
 * `diffRuns` computes the report (pure: the unit tests feed it hand-made rows); `expectMatchesBaseline`
 * asserts it with vitest, printing a diff summary when it fails.
 */
import { expect } from 'vitest';
import type { IncomingRecord } from '../../src/kafka/client.js';
import { rowKey } from './dataset.js';
import type { ExitRecord } from './service-process.js';

/** A record of the output topic, and the (point, window end) its value names. */
export interface OutputRow {
  key: string | null;
  value: string;
  partition: number;
  offset: string;
  /** The record's timestamp (the service's wall clock when it produced it), ms. */
  timestampMs: number;
  /** From the value; '' when the value is not a risk record. */
  pointId: string;
  windowEnd: number;
}

export function outputRow(r: Pick<IncomingRecord, 'key' | 'value' | 'partition' | 'offset' | 'timestampMs'>): OutputRow {
  const value = r.value?.toString('utf8') ?? '';
  let pointId = '';
  let windowEnd = NaN;
  try {
    const parsed = JSON.parse(value) as { point_id?: unknown; window_end?: unknown };
    if (typeof parsed.point_id === 'string' && typeof parsed.window_end === 'number') {
      pointId = parsed.point_id;
      windowEnd = parsed.window_end;
    }
  } catch {
    // left unparsable: reported as such
  }
  return { key: r.key?.toString('utf8') ?? null, value, partition: r.partition, offset: r.offset.toString(), timestampMs: r.timestampMs, pointId, windowEnd };
}

export function outputRows(records: readonly IncomingRecord[]): OutputRow[] {
  return records.map(outputRow);
}

/** A record of a dead-letter topic: its headers as text. */
export interface DlqRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export function dlqRecords(records: readonly IncomingRecord[]): DlqRecord[] {
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key,
    value: r.value,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')])),
  }));
}

/** Provenance headers of a dead letter (src/pipeline/dead-letter.ts names them; the contract is fixed here). */
export const PROVENANCE = Object.freeze({
  topic: 'saferoads-source-topic',
  partition: 'saferoads-source-partition',
  offset: 'saferoads-source-offset',
  reason: 'saferoads-reason',
  /** A value too large to forward with its headers may be cut: then `true`, and the original length. */
  truncated: 'saferoads-value-truncated',
  valueBytes: 'saferoads-value-bytes',
});

/** A bad record the case wrote to the car topic, where it landed, and what its dead letter must say. */
export interface ExpectedDeadLetter {
  partition: number;
  offset: bigint;
  key: string | null;
  value: Buffer;
  /** The reason header: exactly this text, or matching this pattern. */
  reason?: string | RegExp;
}

export interface DiffInput {
  label: string;
  baseline: readonly OutputRow[];
  faulty: readonly OutputRow[];
  /** The car topic, as the dead letters must name it. */
  carTopic?: string;
  carDlq?: readonly DlqRecord[];
  /** The car topic's bad records (default: none, so car.dlq must be empty). */
  expectedCarDlq?: readonly ExpectedDeadLetter[];
  weatherDlq?: readonly DlqRecord[];
  exits?: readonly ExitRecord[];
}

export interface DifferingRow {
  key: string;
  /** What differs, `path: fault-free → faulty` (first few). */
  fields: string[];
  baseline: string;
  faulty: OutputRow;
}

export interface DiffCounts {
  baselineRows: number;
  faultyRows: number;
  /** Distinct (point, window end) in the faulty run. */
  distinctFaulty: number;
  missing: number;
  extra: number;
  differing: number;
  /** Rows published more than once with the fault-free value (allowed: at-least-once). */
  identicalDuplicates: number;
  keyMismatch: number;
  unparsable: number;
  dlqUnexpected: number;
  dlqMissing: number;
  dlqBad: number;
  /** Dead letters written more than once (allowed: at-least-once; reported). */
  dlqDuplicates: number;
  weatherDlq: number;
  badExits: number;
}

export interface DiffReport {
  label: string;
  ok: boolean;
  counts: DiffCounts;
  missing: string[];
  extra: OutputRow[];
  differing: DifferingRow[];
  keyMismatch: OutputRow[];
  unparsable: OutputRow[];
  dlqUnexpected: DlqRecord[];
  dlqMissing: ExpectedDeadLetter[];
  dlqBad: { record: DlqRecord; problems: string[] }[];
  weatherDlq: DlqRecord[];
  badExits: ExitRecord[];
}

/** The counts a passing run has (everything else is free). */
export const PASSING: Partial<DiffCounts> = Object.freeze({
  missing: 0,
  extra: 0,
  differing: 0,
  keyMismatch: 0,
  unparsable: 0,
  dlqUnexpected: 0,
  dlqMissing: 0,
  dlqBad: 0,
  weatherDlq: 0,
  badExits: 0,
});

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Paths where two JSON values differ (`short.count: 12 → 11`), at most `limit`. */
export function jsonDifferences(a: unknown, b: unknown, limit = 8, path = ''): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, at: string) => {
    if (out.length >= limit) return;
    if (Object.is(x, y)) return;
    const xo = typeof x === 'object' && x !== null;
    const yo = typeof y === 'object' && y !== null;
    if (xo && yo && Array.isArray(x) === Array.isArray(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
      for (const k of keys) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      return;
    }
    out.push(`${at || '(value)'}: ${show(x)} → ${show(y)}`);
  };
  walk(a, b, path);
  return out;
}

function fieldsThatDiffer(baseline: string, faulty: string): string[] {
  try {
    const fields = jsonDifferences(JSON.parse(baseline), JSON.parse(faulty));
    // Same JSON, different bytes (key order, number spelling): still a difference.
    return fields.length > 0 ? fields : ['(same JSON, different bytes)'];
  } catch {
    return ['(value is not JSON)'];
  }
}

function sameBytes(a: Buffer | null, b: Buffer | string | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(typeof b === 'string' ? Buffer.from(b) : b);
}

/** Compares a faulty run with the fault-free one (see the module comment); never throws. */
export function diffRuns(input: DiffInput): DiffReport {
  const base = new Map<string, string>();
  for (const row of input.baseline) if (!Number.isNaN(row.windowEnd) && !base.has(rowKey(row.pointId, row.windowEnd))) base.set(rowKey(row.pointId, row.windowEnd), row.value);

  const seen = new Map<string, number>();
  const extra: OutputRow[] = [];
  const differing: DifferingRow[] = [];
  const keyMismatch: OutputRow[] = [];
  const unparsable: OutputRow[] = [];
  let identicalDuplicates = 0;
  for (const row of input.faulty) {
    if (Number.isNaN(row.windowEnd)) {
      unparsable.push(row);
      continue;
    }
    if (row.key !== row.pointId) keyMismatch.push(row);
    const key = rowKey(row.pointId, row.windowEnd);
    const times = (seen.get(key) ?? 0) + 1;
    seen.set(key, times);
    const want = base.get(key);
    if (want === undefined) extra.push(row);
    else if (want !== row.value) differing.push({ key, fields: fieldsThatDiffer(want, row.value), baseline: want, faulty: row });
    else if (times > 1) identicalDuplicates++;
  }
  const missing = [...base.keys()].filter((k) => !seen.has(k));

  // Dead letters of the car topic: exactly the injected bad records, each with its provenance.
  const expected = new Map((input.expectedCarDlq ?? []).map((e) => [`${e.partition}:${e.offset}`, e]));
  const dlqSeen = new Set<string>();
  const dlqUnexpected: DlqRecord[] = [];
  const dlqBad: { record: DlqRecord; problems: string[] }[] = [];
  let dlqDuplicates = 0;
  for (const d of input.carDlq ?? []) {
    const h = d.headers;
    const where = `${h[PROVENANCE.partition] ?? '?'}:${h[PROVENANCE.offset] ?? '?'}`;
    const want = expected.get(where);
    if (want === undefined) {
      dlqUnexpected.push(d);
      continue;
    }
    if (dlqSeen.has(where)) dlqDuplicates++;
    dlqSeen.add(where);
    const problems: string[] = [];
    if (input.carTopic !== undefined && h[PROVENANCE.topic] !== input.carTopic) problems.push(`${PROVENANCE.topic} is ${show(h[PROVENANCE.topic])}, not ${input.carTopic}`);
    const reason = h[PROVENANCE.reason];
    if (!reason) problems.push(`no ${PROVENANCE.reason}`);
    else if (typeof want.reason === 'string' ? reason !== want.reason : want.reason !== undefined && !want.reason.test(reason)) {
      problems.push(`${PROVENANCE.reason} is ${show(reason)}, expected ${String(want.reason)}`);
    }
    if (h[PROVENANCE.truncated] === 'true') {
      // Cut to fit: a prefix of the source value, and the source's length in its header.
      const prefix = d.value !== null && d.value.length < want.value.length && d.value.equals(want.value.subarray(0, d.value.length));
      if (!prefix) problems.push(`truncated value is not a prefix of the source record's (${d.value?.length ?? 'null'} of ${want.value.length} bytes)`);
      if (h[PROVENANCE.valueBytes] !== String(want.value.length)) problems.push(`${PROVENANCE.valueBytes} is ${show(h[PROVENANCE.valueBytes])}, the source value has ${want.value.length}`);
    } else if (!sameBytes(d.value, want.value)) {
      problems.push(`value differs from the source record (${d.value?.length ?? 'null'} vs ${want.value.length} bytes)`);
    }
    if (!sameBytes(d.key, want.key)) problems.push(`key ${show(d.key?.toString())} differs from the source record's ${show(want.key)}`);
    if (problems.length > 0) dlqBad.push({ record: d, problems });
  }
  const dlqMissing = [...expected.entries()].filter(([k]) => !dlqSeen.has(k)).map(([, e]) => e);

  const badExits = (input.exits ?? []).filter(
    (e) => e.requested === undefined || (e.requested !== 'SIGKILL' && (e.code !== 0 || e.forced === true)),
  );
  const weatherDlq = [...(input.weatherDlq ?? [])];

  const counts: DiffCounts = {
    baselineRows: input.baseline.length,
    faultyRows: input.faulty.length,
    distinctFaulty: seen.size,
    missing: missing.length,
    extra: extra.length,
    differing: differing.length,
    identicalDuplicates,
    keyMismatch: keyMismatch.length,
    unparsable: unparsable.length,
    dlqUnexpected: dlqUnexpected.length,
    dlqMissing: dlqMissing.length,
    dlqBad: dlqBad.length,
    dlqDuplicates,
    weatherDlq: weatherDlq.length,
    badExits: badExits.length,
  };
  const ok = Object.entries(PASSING).every(([k, v]) => counts[k as keyof DiffCounts] === v);
  return { label: input.label, ok, counts, missing, extra, differing, keyMismatch, unparsable, dlqUnexpected, dlqMissing, dlqBad, weatherDlq, badExits };
}

function describeKey(key: string): string {
  const [point, end] = key.split('@');
  const t = Number(end);
  return Number.isFinite(t) ? `${point}@${new Date(t * 1000).toISOString().slice(11, 16)}(${end})` : key;
}

function describeDead(d: DlqRecord): string {
  const h = d.headers;
  return `${h[PROVENANCE.topic] ?? '?'}[${h[PROVENANCE.partition] ?? '?'}]@${h[PROVENANCE.offset] ?? '?'} ${h[PROVENANCE.reason] ?? '(no reason)'} key=${show(d.key?.toString())}`;
}

/** A human summary: counts by kind, then the first few of each kind. */
export function formatReport(r: DiffReport, first = 5, t0Ms?: number): string {
  const when = (row: OutputRow) => (t0Ms === undefined ? '' : ` produced at +${((row.timestampMs - t0Ms) / 1000).toFixed(2)} s`);
  const c = r.counts;
  const lines = [
    `[chaos] ${r.label}: ${r.ok ? 'PASS' : 'FAIL'} — rows ${c.faultyRows} (${c.distinctFaulty} distinct of ${c.baselineRows} fault-free, ${c.identicalDuplicates} identical duplicates); ` +
      `missing ${c.missing}, extra ${c.extra}, differing ${c.differing}, key≠point_id ${c.keyMismatch}, not a risk record ${c.unparsable}; ` +
      `car.dlq unexpected ${c.dlqUnexpected}, missing ${c.dlqMissing}, wrong ${c.dlqBad}, duplicated ${c.dlqDuplicates}; weather.dlq ${c.weatherDlq}; bad exits ${c.badExits}`,
  ];
  const list = <T>(title: string, items: readonly T[], fmt: (x: T) => string) => {
    if (items.length === 0) return;
    lines.push(`  ${title} (first ${Math.min(first, items.length)} of ${items.length}):`);
    for (const x of items.slice(0, first)) lines.push(`    ${fmt(x)}`);
  };
  if (r.missing.length > 0) {
    const byEnd = new Map<string, number>();
    for (const k of r.missing) byEnd.set(k.split('@')[1]!, (byEnd.get(k.split('@')[1]!) ?? 0) + 1);
    lines.push(
      `  missing by window end: ${[...byEnd.entries()]
        .sort()
        .slice(0, 12)
        .map(([end, n]) => `${new Date(Number(end) * 1000).toISOString().slice(11, 16)}×${n}`)
        .join(' ')}${byEnd.size > 12 ? ' …' : ''}`,
    );
  }
  list('missing', r.missing, describeKey);
  list('differing', r.differing, (d) => {
    return `${describeKey(d.key)} [partition ${d.faulty.partition} offset ${d.faulty.offset}${when(d.faulty)}]: ${d.fields.join('; ')}`;
  });
  if (r.differing.length > 0) {
    const byField = new Map<string, number>();
    for (const d of r.differing) for (const f of d.fields) byField.set(f.split(':')[0]!, (byField.get(f.split(':')[0]!) ?? 0) + 1);
    lines.push(`  differing fields: ${[...byField.entries()].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f}×${n}`).join(', ')}`);
  }
  list('extra', r.extra, (x) => `${describeKey(rowKey(x.pointId, x.windowEnd))} [partition ${x.partition} offset ${x.offset}${when(x)}]`);
  list('key ≠ point_id', r.keyMismatch, (x) => `key ${show(x.key)} for ${x.pointId}`);
  list('not a risk record', r.unparsable, (x) => `[partition ${x.partition} offset ${x.offset}] ${show(x.value)}`);
  list('car.dlq unexpected', r.dlqUnexpected, describeDead);
  list('car.dlq missing', r.dlqMissing, (e) => `partition ${e.partition} offset ${e.offset} key ${show(e.key)} (${e.value.length} bytes)`);
  list('car.dlq wrong', r.dlqBad, (b) => `${describeDead(b.record)}: ${b.problems.join('; ')}`);
  list('weather.dlq', r.weatherDlq, describeDead);
  list('bad exits', r.badExits, (e) => {
    const why = e.requested === undefined ? 'exited by itself' : e.forced ? `did not stop within its time after ${e.requested}` : `exited ${e.code} after ${e.requested}`;
    // The service's own words first (kafkajs noise and stack frames last).
    const lines = e.stderrTail.split('\n');
    const own = lines.filter((l) => !l.startsWith('[kafkajs') && !l.includes('"component":"kafkajs"') && !/^\s+at /.test(l));
    const tail = (own.length > 0 ? own : lines).slice(-6).map((l) => `        | ${l}`).join('\n');
    return `${e.who} (pid ${e.pid}) ${why}: code ${e.code} signal ${e.signal}\n${tail}`;
  });
  return lines.join('\n');
}

/** diffRuns, asserted: fails with the diff summary when the run does not match the fault-free one. */
export function expectMatchesBaseline(input: DiffInput): DiffReport {
  const report = diffRuns(input);
  expect(report.counts, formatReport(report)).toMatchObject(PASSING);
  return report;
}

/**
 * The fault-free run itself: exactly one row per expected (point, window end), keyed by point_id,
 * no dead letters. Anything else is a harness (or gross service) problem, not a fault finding.
 */
export function expectCompleteBaseline(rows: readonly OutputRow[], expectedKeys: ReadonlySet<string>, label: string): void {
  const counts = new Map<string, number>();
  for (const r of rows) {
    expect(r.key, `${label}: a fault-free row's key`).toBe(r.pointId);
    const k = rowKey(r.pointId, r.windowEnd);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const missing = [...expectedKeys].filter((k) => !counts.has(k));
  const extra = [...counts.keys()].filter((k) => !expectedKeys.has(k));
  const repeated = [...counts.entries()].filter(([, n]) => n > 1).map(([k]) => k);
  expect(
    { missing: missing.length, extra: extra.length, repeated: repeated.length },
    `${label}: the fault-free run must publish each expected (point, window end) exactly once; ` +
      `missing ${missing.slice(0, 5).map(describeKey).join(' ')} extra ${extra.slice(0, 5).map(describeKey).join(' ')} repeated ${repeated.slice(0, 5).map(describeKey).join(' ')}`,
  ).toEqual({ missing: 0, extra: 0, repeated: 0 });
}
