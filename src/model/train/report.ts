/**
 * The train / backtest report: one JSON document, its text rendering for the terminal, and an HTML
 * page with the ROC curves and the calibration plot (inline SVG: no script, opens anywhere).
 */
import type { CandidateResult } from './train.js';

export interface Report {
  command: 'train' | 'backtest';
  createdAt: string;
  data: {
    events: number;
    eventsPath: string;
    weatherPath: string | null;
    labelsPath: string;
    pointsPath: string;
    firstEvent: string;
    lastEvent: string;
    historyRows: number;
    rows: number;
    positives: number;
    baseRate: number;
    leftOut: Record<string, number>;
    refusedEvents: Record<string, number>;
    badLines: { events: number; weather: number };
    labels: { total: number; kinds: Record<string, number>; unknownPoints: number };
  };
  settings: {
    horizonMin: number;
    folds: number;
    foldBy: string;
    embargoMin: number;
    /** train: the penalties to choose from, the coefficient constraint, the final model's penalty. */
    fit?: { l2: number[]; coefficients: string; finalL2: number };
  };
  folds: { from: string; to: string; testRows: number; testPositives: number; trainRows: number; embargoed: number }[];
  models: CandidateResult[];
  /** train: the fitted model's coefficients. */
  coefficients?: { feature: string; perUnit: number; standardized: number; mean: number; sd: number }[];
  model?: { id: string; path: string };
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');

/** The report as terminal text. */
export function formatReport(r: Report): string {
  const lines: string[] = [];
  const d = r.data;
  lines.push(
    `${d.events.toLocaleString('en')} events ${d.firstEvent} → ${d.lastEvent}; ${d.rows.toLocaleString('en')} labelled rows ` +
      `(of ${d.historyRows.toLocaleString('en')}), ${d.positives.toLocaleString('en')} positive (${(100 * d.baseRate).toFixed(1)} %): ` +
      `an incident at the point within ${r.settings.horizonMin} min after the window end`,
  );
  const left = Object.entries(d.leftOut).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n.toLocaleString('en')}`);
  if (left.length > 0) lines.push(`rows left out: ${left.join(', ')}`);
  const refused = Object.entries(d.refusedEvents).map(([k, n]) => `${k} ${n}`);
  if (refused.length > 0 || d.badLines.events + d.badLines.weather > 0) {
    lines.push(`input problems: ${d.badLines.events} bad event lines, ${d.badLines.weather} bad weather lines${refused.length ? `, events refused: ${refused.join(', ')}` : ''}`);
  }
  lines.push(
    `${r.settings.folds} time-blocked folds by ${r.settings.foldBy} (embargo ${r.settings.embargoMin} min around each test period)` +
      (r.settings.fit !== undefined
        ? `; L2 chosen from ${r.settings.fit.l2.join(', ')} by an inner cross-validation per fold (final model: ${r.settings.fit.finalL2}), coefficients ${r.settings.fit.coefficients}`
        : ''),
  );
  lines.push('');
  const header = ['model', 'ROC AUC mean ± sd (min–max)', 'PR AUC mean ± sd', 'Brier', 'pooled ROC / PR AUC'];
  const rows = r.models.map((m) => [
    m.name,
    `${f3(m.rocAuc.mean)} ± ${f3(m.rocAuc.sd)} (${f3(m.rocAuc.min)}–${f3(m.rocAuc.max)})`,
    `${f3(m.prAuc.mean)} ± ${f3(m.prAuc.sd)}`,
    f3(m.brier.mean),
    `${f3(m.pooled.rocAuc)} / ${f3(m.pooled.prAuc)}`,
  ]);
  lines.push(...table(header, rows));
  lines.push('');
  const fitted = r.models.find((m) => m.l2 !== undefined);
  lines.push('per fold (ROC AUC):');
  lines.push(
    ...table(
      ['fold', 'test period', 'rows', 'positives', ...(fitted ? [`L2 (${fitted.name})`] : []), ...r.models.map((m) => m.name)],
      r.folds.map((f, k) => [
        String(k + 1),
        `${f.from} → ${f.to}`,
        String(f.testRows),
        String(f.testPositives),
        ...(fitted ? [String(fitted.l2![k])] : []),
        ...r.models.map((m) => f3(m.perFold[k]?.rocAuc ?? NaN)),
      ]),
    ),
  );
  const first = r.models[0];
  if (first) {
    lines.push('');
    lines.push(`calibration of ${first.name} (out-of-fold, 10 bins by predicted risk):`);
    lines.push(
      ...table(
        ['predicted from–to', 'rows', 'mean predicted', 'observed'],
        first.calibration.map((b) => [`${f3(b.from)}–${f3(b.to)}`, String(b.rows), f3(b.meanPredicted), f3(b.observedRate)]),
      ),
    );
  }
  if (r.coefficients) {
    lines.push('');
    lines.push(`coefficients of ${r.model?.id ?? 'the model'} (log-odds per unit; standardized = per sd of the feature):`);
    lines.push(
      ...table(
        ['feature', 'per unit', 'standardized', 'mean', 'sd'],
        r.coefficients.map((c) => [c.feature, c.perUnit.toPrecision(4), c.standardized.toFixed(3), c.mean.toPrecision(4), c.sd.toPrecision(4)]),
      ),
    );
  }
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** A self-contained HTML page: the summary table, ROC curves and calibration of every model. */
export function reportHtml(r: Report): string {
  const size = 320;
  const pad = 36;
  const px = (v: number) => (pad + v * size).toFixed(1);
  const py = (v: number) => (pad + (1 - v) * size).toFixed(1);
  const axes = (xLabel: string, yLabel: string) =>
    `<rect x="${pad}" y="${pad}" width="${size}" height="${size}" fill="none" stroke="#888"/>` +
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#ccc" stroke-dasharray="4 4"/>` +
    `<text x="${pad + size / 2}" y="${pad + size + 28}" text-anchor="middle" font-size="12">${xLabel}</text>` +
    `<text x="12" y="${pad + size / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${pad + size / 2})">${yLabel}</text>` +
    [0, 0.5, 1].map((t) => `<text x="${px(t)}" y="${pad + size + 14}" text-anchor="middle" font-size="10">${t}</text><text x="${pad - 4}" y="${py(t)}" text-anchor="end" font-size="10">${t}</text>`).join('');
  // Bottom right: ROC curves of any use run through the top left.
  const legend = r.models
    .map(
      (m, k) =>
        `<text x="${pad + size - 8}" y="${pad + size - 10 - 14 * (r.models.length - 1 - k)}" text-anchor="end" font-size="11" fill="${COLORS[k % COLORS.length]}">${escapeHtml(m.name)} (pooled AUC ${f3(m.pooled.rocAuc)})</text>`,
    )
    .join('');
  const rocPaths = r.models
    .map((m, k) => `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5" points="${m.roc.fpr.map((x, i) => `${px(x)},${py(m.roc.tpr[i])}`).join(' ')}"/>`)
    .join('');
  const maxP = Math.max(0.05, ...r.models.flatMap((m) => m.calibration.flatMap((b) => [b.meanPredicted, b.observedRate])));
  const cx = (v: number) => (pad + (v / maxP) * size).toFixed(1);
  const cy = (v: number) => (pad + (1 - v / maxP) * size).toFixed(1);
  const calPaths = r.models
    .map(
      (m, k) =>
        `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5" points="${m.calibration.map((b) => `${cx(b.meanPredicted)},${cy(b.observedRate)}`).join(' ')}"/>` +
        m.calibration.map((b) => `<circle cx="${cx(b.meanPredicted)}" cy="${cy(b.observedRate)}" r="2.5" fill="${COLORS[k % COLORS.length]}"/>`).join(''),
    )
    .join('');
  const calAxes = axes(`mean predicted (0–${maxP.toFixed(2)})`, `observed rate (0–${maxP.toFixed(2)})`);
  const rowsHtml = r.models
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.name)}</td><td>${f3(m.rocAuc.mean)} ± ${f3(m.rocAuc.sd)}</td><td>${f3(m.prAuc.mean)} ± ${f3(m.prAuc.sd)}</td><td>${f3(m.brier.mean)}</td><td>${escapeHtml(m.description)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>saferoads ${r.command} report</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px}svg{margin-right:24px}</style></head><body>
<h1>saferoads ${r.command} report</h1>
<p>${r.data.rows.toLocaleString('en')} labelled rows, ${r.data.positives.toLocaleString('en')} positive (${(100 * r.data.baseRate).toFixed(1)} %), horizon ${r.settings.horizonMin} min, ${r.settings.folds} time-blocked folds by ${r.settings.foldBy}. Data ${escapeHtml(r.data.firstEvent)} → ${escapeHtml(r.data.lastEvent)}.</p>
<table><tr><th>model</th><th>ROC AUC (folds)</th><th>PR AUC (folds)</th><th>Brier</th><th>what</th></tr>${rowsHtml}</table>
<p><svg width="${size + 2 * pad}" height="${size + 2 * pad}" role="img" aria-label="ROC curves">${axes('false positive rate', 'true positive rate')}${rocPaths}${legend}</svg>
<svg width="${size + 2 * pad}" height="${size + 2 * pad}" role="img" aria-label="calibration">${calAxes}${calPaths}</svg></p>
<p>Out-of-fold predictions of every fold together. A surrogate-labelled data set measures ranking of simulated conflicts, not crashes.</p>
</body></html>
`;
}
