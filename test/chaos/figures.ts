/**
 * Figures of a fault case, from the output rows' record timestamps (the service's wall clock when it
 * produced them) and the harness's timeline: no live follower is needed, so the numbers hold also
 * across a broker outage. One line per case on stdout, all cases in .cache/chaos-figures.json.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { OutputRow } from './compare.js';

export interface Distribution {
  samples: number[];
  p50: number;
  max: number;
}

export interface CaseFigures {
  case: string;
  mode: 'short' | 'full';
  ok: boolean;
  /** kill -9 sent to service processes. */
  kills: number;
  /** Kills after which the output went on to a newer window end (or was complete at the end). */
  killsSurvived: number;
  /** From a restarted process's spawn to the first row with a window end newer than any before its kill, ms. */
  restartToFirstRowMs?: Distribution;
  /** From a kill (no restart: the group moves its partitions) to the first newer row of its points, ms. */
  takeoverMs?: Distribution;
  /** Broker down, ms. */
  outageMs?: number[];
  /** From the broker answering again to the first row with a newer window end, ms. */
  outageToResumeMs?: Distribution;
  rows: number;
  identicalDuplicates: number;
  deadLetters?: number;
  wallMs: number;
  [more: string]: unknown;
}

export function distribution(samples: readonly number[]): Distribution | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return { samples: sorted.map(Math.round), p50: Math.round(sorted[Math.floor((sorted.length - 1) / 2)]!), max: Math.round(sorted.at(-1)!) };
}

/**
 * Ms from `fromMs` to the first row produced at or after it (and before `untilMs`) whose window end
 * is newer than every row produced before `beforeMs` (optionally only rows of `points`); undefined
 * if there is none.
 */
export function firstProgressMs(
  rows: readonly OutputRow[],
  beforeMs: number,
  fromMs: number,
  points?: ReadonlySet<string>,
  untilMs = Infinity,
): number | undefined {
  let newest = -Infinity;
  for (const r of rows) if (r.timestampMs < beforeMs && (!points || points.has(r.pointId)) && r.windowEnd > newest) newest = r.windowEnd;
  let first = Infinity;
  for (const r of rows) {
    if (r.timestampMs >= fromMs && r.timestampMs < untilMs && r.windowEnd > newest && (!points || points.has(r.pointId)) && r.timestampMs < first) {
      first = r.timestampMs;
    }
  }
  return Number.isFinite(first) ? first - fromMs : undefined;
}

function fmt(d: Distribution | undefined): string {
  return d ? `p50 ${d.p50} ms / max ${d.max} ms (${d.samples.length})` : 'n/a';
}

/** The one-line summary of a case. */
export function figuresLine(f: CaseFigures): string {
  const parts = [`[chaos] ${f.case} (${f.mode}): ${f.ok ? 'PASS' : 'FAIL'}`, `${f.killsSurvived}/${f.kills} kills survived`];
  if (f.restartToFirstRowMs || f.kills > 0) parts.push(`restart→first new row ${fmt(f.restartToFirstRowMs)}`);
  if (f.takeoverMs) parts.push(`kill→takeover ${fmt(f.takeoverMs)}`);
  if (f.outageMs) parts.push(`outage ${f.outageMs.map((m) => `${Math.round(m / 100) / 10} s`).join(', ')}, resume→first new row ${fmt(f.outageToResumeMs)}`);
  parts.push(`rows ${f.rows} (+${f.identicalDuplicates} identical duplicates)`);
  if (f.deadLetters !== undefined) parts.push(`dead letters ${f.deadLetters}`);
  parts.push(`wall ${(f.wallMs / 1000).toFixed(1)} s`);
  return parts.join(', ');
}

export const FIGURES_PATH = join(PACKAGE_ROOT, '.cache', 'chaos-figures.json');

/** Prints the line and merges the case into .cache/chaos-figures.json (keyed by case and mode). */
export function recordFigures(f: CaseFigures, path = FIGURES_PATH): void {
  process.stdout.write(`${figuresLine(f)}\n`);
  mkdirSync(join(path, '..'), { recursive: true });
  let all: { updatedAt?: string; cases: Record<string, CaseFigures> } = { cases: {} };
  try {
    all = JSON.parse(readFileSync(path, 'utf8')) as typeof all;
    all.cases ??= {};
  } catch {
    // first case, or a damaged file: start over
  }
  all.cases[`${f.case}/${f.mode}`] = { ...f, at: new Date().toISOString() };
  all.updatedAt = new Date().toISOString();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, path);
}
