/**
 * Incident labels: a CSV `point_id,timestamp[,kind]` (epoch seconds; a header line optional), and
 * which rows they make positive. A row (point p, window end T) is positive when p has an incident
 * in (T, T + horizon]: the score at T is a warning for the next `horizon` seconds.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../../errors.js';
import type { RoadPointTable } from '../../road/points.js';

export interface Labels {
  /** Per dense point index: incident times, ascending. */
  byPoint: Float64Array[];
  total: number;
  /** Incidents per kind (the third column; '' when absent). */
  kinds: Record<string, number>;
  /** Labels of point ids the road-points table does not have (not used). */
  unknownPoints: number;
}

/**
 * Reads a labels file. `kinds` keeps only those kinds (undefined: all). A malformed line is a
 * ConfigError naming the line (labels are few and hand-checked: a bad one is a mistake to fix, not
 * noise to skip).
 */
export function loadLabels(path: string, points: RoadPointTable, kinds?: readonly string[], field = '--labels'): Labels {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(field, `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); fix: give a CSV point_id,timestamp[,kind]`, { cause: e });
  }
  const records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  const lists: number[][] = points.points.map(() => []);
  const byKind: Record<string, number> = {};
  let unknownPoints = 0;
  let total = 0;
  records.forEach((r, i) => {
    const line = i + 1;
    if (i === 0 && r[0] === 'point_id') return;
    if (r.length < 2) throw new ConfigError(field, `${path} line ${line}: expected point_id,timestamp[,kind] (got ${JSON.stringify(r.join(','))})`);
    const t = Number(r[1]);
    if (r[1] === '' || !Number.isFinite(t) || t < 0 || t > 1e11) {
      throw new ConfigError(field, `${path} line ${line}: timestamp ${JSON.stringify(r[1])} is not epoch seconds; fix: write the incident time as seconds since 1970`);
    }
    const kind = r[2] ?? '';
    if (kinds !== undefined && !kinds.includes(kind)) return;
    const p = points.indexOf(r[0]);
    if (p === undefined) {
      unknownPoints++;
      return;
    }
    lists[p].push(t);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    total++;
  });
  return { byPoint: lists.map((l) => Float64Array.from(l).sort()), total, kinds: byKind, unknownPoints };
}

/** Whether `times` (ascending) has a value in (from, to]. */
export function anyIn(times: Float64Array, from: number, to: number): boolean {
  let lo = 0;
  let hi = times.length;
  // First index with times[i] > from.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] > from) hi = mid;
    else lo = mid + 1;
  }
  return lo < times.length && times[lo] <= to;
}
