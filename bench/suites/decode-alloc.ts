/**
 * Heap bytes allocated per decoded event, in a process of its own started with
 * `--expose-gc --min-semi-space-size=512 --max-semi-space-size=512` so that no scavenge runs during
 * the measured loop: gc(), heapUsed, one pass over every message, heapUsed again; the difference over
 * the events is what the decode left on the heap (an approximation: it misses off-heap memory and
 * counts anything else the process allocated meanwhile). GC events during the loop are counted and
 * reported; a figure with a GC inside is a lower bound.
 *
 * argv: decoder events points. Prints `RESULT {json}`.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { type Decoder, makeDecodeInput, makeDecodeLoop } from './decode-loops.js';

const [decoder, events, points] = [process.argv[2] as Decoder, Number(process.argv[3]), Number(process.argv[4])];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('decode-alloc needs --expose-gc');

const input = await makeDecodeInput(events, points);
const loop = makeDecodeLoop(decoder, input);
for (let i = 0; i < 3; i++) loop(); // JIT warm-up
let gcs = 0;
let measuring = false;
const observer = new PerformanceObserver((list) => {
  for (const _ of list.getEntries()) if (measuring) gcs++;
});
observer.observe({ entryTypes: ['gc'] });
gc();
gc();
await new Promise((r) => setTimeout(r, 10));
measuring = true;
const before = process.memoryUsage().heapUsed;
const n = loop();
const after = process.memoryUsage().heapUsed;
// GC entries are delivered asynchronously: let them arrive before judging.
await new Promise((r) => setTimeout(r, 50));
measuring = false;
observer.disconnect();
process.stdout.write(`RESULT ${JSON.stringify({ decoder, events: n, bytes: after - before, bytesPerEvent: (after - before) / n, gcDuringLoop: gcs })}\n`);
