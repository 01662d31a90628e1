/**
 * Progress of a long CLI step on stderr: a bar on a terminal (cli-progress), else one plain line
 * every `everyMs` (logs stay readable), nothing at all for steps that end before the first line.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** What the bar or line is about, e.g. "generate". */
  label: string;
  /** The amount at 100 % (seconds of event time, bytes, …). */
  total: number;
  /** Unit of `total` in the plain lines, e.g. "s of event time". */
  unit: string;
  stream: NodeJS.WriteStream | { isTTY?: boolean; write(text: string): unknown };
  /** Plain lines (not a terminal): at most one per this many ms. */
  everyMs?: number;
  nowMs?: () => number;
}

export interface Progress {
  /** `done` of `total`, and a count to show next to it (e.g. events written). */
  update(done: number, count: number): void;
  stop(): void;
}

export function progress(o: ProgressOptions): Progress {
  const total = Math.max(o.total, 1);
  if (o.stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { format: `${o.label} |{bar}| {percentage}% | {count} events`, stream: o.stream as NodeJS.WriteStream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { count: 0 });
    return {
      update: (done, count) => bar.update(Math.min(done, total), { count }),
      stop: () => bar.stop(),
    };
  }
  const now = o.nowMs ?? Date.now;
  const everyMs = o.everyMs ?? 10_000;
  let last = now();
  return {
    update(done, count) {
      if (now() - last < everyMs) return;
      last = now();
      const pct = Math.min(100, Math.floor((100 * done) / total));
      o.stream.write(`saferoads ${o.label}: ${pct}% (${Math.round(Math.min(done, total))} of ${Math.round(total)} ${o.unit}), ${count} events\n`);
    },
    stop: () => undefined,
  };
}
