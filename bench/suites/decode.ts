/**
 * Suite "decode": per-record decoding on one core — seed JSON (one Buffer per event, as Kafka
 * delivers it) vs FlatBuffers LoopEventBatch (TS decoder and the WASM in-memory decoder) — in
 * events/s, and heap bytes allocated per event (decode-alloc.ts, a child process per decoder).
 */
import { fileURLToPath } from 'node:url';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import { runResultChild } from '../lib/child.js';
import type { Table } from '../lib/table.js';
import { type Decoder, DECODER_LABELS, DECODERS, makeDecodeInput, makeDecodeLoop } from './decode-loops.js';

const ALLOC_CHILD = fileURLToPath(new URL('./decode-alloc.js', import.meta.url));
export const ALLOC_FLAGS = ['--expose-gc', '--min-semi-space-size=512', '--max-semi-space-size=512'];

export interface DecodeSettings {
  events: number;
  points: number;
  runs: number;
  /** Events of the allocation measurement (its heap growth must fit the 512 MB semi-space). */
  allocEvents: number;
}

export interface DecodeFigure {
  decoder: Decoder;
  label: string;
  messages: number;
  eventsPerS: Summary;
  /** Heap bytes per event (approximation, see decode-alloc.ts). */
  bytesPerEvent: number;
  gcDuringAllocLoop: number;
  /** Events of the allocation pass that gave bytesPerEvent. */
  allocEvents: number;
}

export interface DecodeResult {
  settings: DecodeSettings;
  events: number;
  figures: DecodeFigure[];
}

/**
 * Typed-array backing stores count as external memory, which can start a GC whatever the semi-space
 * size: a measurement with a GC inside is repeated with half the events (up to 3 times).
 */
async function allocation(decoder: Decoder, s: DecodeSettings): Promise<{ bytesPerEvent: number; gcDuringLoop: number; events: number }> {
  let events = s.allocEvents;
  for (let attempt = 0; ; attempt++) {
    const r = await allocationOnce(decoder, events, s.points);
    if (r.gcDuringLoop === 0 || attempt >= 3) return { ...r, events };
    events = Math.max(10_000, Math.floor(events / 2));
  }
}

function allocationOnce(decoder: Decoder, events: number, points: number): Promise<{ bytesPerEvent: number; gcDuringLoop: number }> {
  return runResultChild([...ALLOC_FLAGS, ALLOC_CHILD, decoder, String(events), String(points)], `allocation measurement of ${decoder}`);
}

export async function runDecodeSuite(s: DecodeSettings, log: (line: string) => void): Promise<DecodeResult> {
  const input = await makeDecodeInput(s.events, s.points);
  const loops = DECODERS.map((d) => ({ decoder: d, loop: makeDecodeLoop(d, input) }));
  for (const { loop } of loops) for (let i = 0; i < 2; i++) loop(); // warm-up
  const samples = new Map<Decoder, number[]>();
  for (let run = 0; run < s.runs; run++) {
    for (const { decoder, loop } of loops) {
      const began = performance.now();
      const n = loop();
      const seconds = (performance.now() - began) / 1000;
      if (n !== input.events) throw new Error(`decode ${decoder}: ${n} events, expected ${input.events}`);
      samples.set(decoder, [...(samples.get(decoder) ?? []), n / seconds]);
    }
  }
  const figures: DecodeFigure[] = [];
  for (const { decoder } of loops) {
    const alloc = await allocation(decoder, s);
    const messages = decoder.startsWith('json') ? input.json.length : decoder.endsWith('large') ? input.fbLarge.length : input.fb.length;
    const eventsPerS = summarize(samples.get(decoder)!);
    log(`  decode: ${decoder}: ${fmtRate(eventsPerS.median)} events/s, ~${alloc.bytesPerEvent.toFixed(0)} heap bytes/event`);
    figures.push({ decoder, label: DECODER_LABELS[decoder], messages, eventsPerS, bytesPerEvent: alloc.bytesPerEvent, gcDuringAllocLoop: alloc.gcDuringLoop, allocEvents: alloc.events });
  }
  return { settings: s, events: input.events, figures };
}

export function decodeTable(r: DecodeResult): Table {
  const fb = r.figures.find((f) => f.decoder === 'fb-ts');
  return {
    title: 'decode: one core, per record as Kafka delivers it',
    header: ['decoder', 'messages', 'events/s median (min–max)', '~heap bytes/event', 'runs'],
    rows: r.figures.map((f) => [
      f.label,
      fmt(f.messages),
      fmtSummary(f.eventsPerS),
      `${f.gcDuringAllocLoop > 0 ? '>= ' : ''}${f.bytesPerEvent.toFixed(0)}`,
      String(f.eventsPerS.n),
    ]),
    notes: [
      `${fmt(r.events)} events over ${fmt(r.settings.points)} points${fb ? ` (${(r.events / fb.messages).toFixed(1)} events per one-point FlatBuffers message)` : ''}.`,
      `Heap bytes/event is an APPROXIMATION: heapUsed growth over one pass of up to ${fmt(r.settings.allocEvents)} events in a child process with ` +
        `${ALLOC_FLAGS.join(' ')} (no scavenge during the loop), after gc(); off-heap memory is not counted; ">=": a GC ran inside the pass even after retries with fewer events.`,
      'The WASM decoder fills the kernel\'s input columns in WASM memory; the TS decoder (LoopEventBatchDecoder, as the router uses it) reuses its columns.',
    ],
  };
}
