/** Top functions by self time of a V8 .cpuprofile (node --cpu-prof). */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export function topFunctions(path: string, count = 15): { totalMs: number; top: HotFunction[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, HotFunction>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|dist\/)/, '$1');
    const key = `${functionName}@${file}:${lineNumber}`;
    const entry = self.get(key) ?? { name: functionName || '(anonymous)', where: file ? `${file}:${lineNumber + 1}` : '', selfMs: 0, share: 0 };
    entry.selfMs += dt;
    self.set(key, entry);
  }
  const top = [...self.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, count);
  for (const t of top) t.share = total > 0 ? t.selfMs / total : 0;
  return { totalMs: total, top };
}
