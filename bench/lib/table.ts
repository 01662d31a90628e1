/** Plain-text tables for stdout. */

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  /** Lines printed under the table (what the figures mean, approximations, targets). */
  notes?: string[];
}

export function renderTable(t: Table): string {
  const widths = t.header.map((h, c) => Math.max(h.length, ...t.rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  const out = [`\n## ${t.title}`, line(t.header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of t.rows) out.push(line(r));
  for (const n of t.notes ?? []) out.push(`  ${n}`);
  return `${out.join('\n')}\n`;
}
