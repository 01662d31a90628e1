import { describe, expect, it } from 'vitest';
import { progress } from '../../src/cli/progress.js';

describe('progress on stderr', () => {
  it('not a terminal: one plain line per interval, none before the first interval', () => {
    const lines: string[] = [];
    let now = 0;
    const p = progress({ label: 'generate', total: 600, unit: 's of event time', stream: { write: (t: string) => lines.push(t) }, everyMs: 10_000, nowMs: () => now });
    p.update(30, 1000);
    now = 9_999;
    p.update(60, 2000);
    expect(lines).toEqual([]);
    now = 10_000;
    p.update(150, 5000);
    now = 15_000;
    p.update(200, 7000);
    now = 20_001;
    p.update(900, 9000);
    p.stop();
    expect(lines).toEqual(['saferoads generate: 25% (150 of 600 s of event time), 5000 events\n', 'saferoads generate: 100% (600 of 600 s of event time), 9000 events\n']);
  });

  it('a terminal: draws a bar with the count', () => {
    let out = '';
    const stream = { isTTY: true, columns: 80, write: (t: string) => ((out += t), true), cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream };
    const p = progress({ label: 'generate', total: 100, unit: 's', stream: stream as unknown as NodeJS.WriteStream });
    p.update(50, 1234);
    p.stop();
    expect(out).toContain('generate |');
    expect(out).toContain('1234 events');
  });
});
