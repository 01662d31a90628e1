/**
 * The paced producer: writes the dataset's car records in event-time order, keyed by point_id with
 * the default (murmur2) partitioner, at `minutesPerSecond` minutes of event time per wall-clock
 * second, so faults land mid-stream. The records and their per-partition order are the same in every
 * run; only the wall-clock moments differ. Chunks are sent one after the other (never two in flight)
 * by an idempotent producer (kafka-io.ts: its retries never write a record twice).
 *
 * A barrier (`holdAt`) stops production at an event time until released, and `pause()` stops it
 * after the chunk in flight; in both cases the pacing clock stops too, so the stream resumes at its
 * pace where it stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TimedRecord } from './dataset.js';
import { chunkEnd, type InputProducer, inputProducer } from './kafka-io.js';

export interface PacedProducerOptions {
  brokers: readonly string[];
  topic: string;
  /** In event-time order (checked). */
  records: readonly TimedRecord[];
  /** Minutes of event time written per wall-clock second; Infinity writes as fast as possible. */
  minutesPerSecond: number;
  /** Largest number of records in one send (default 2000). */
  chunk?: number;
  /** Pacing tick, ms (default 50). */
  tickMs?: number;
}

export class PacedProducer {
  private next = 0;
  private virtualT: number;
  private barrier = Infinity;
  private pace: number;
  private paused = false;
  private inFlight: Promise<void> = Promise.resolve();
  private started = false;
  private waiters: { t: number; resolve: () => void }[] = [];
  /** Wall-clock ms of the first and last send (NaN before). */
  startedAtMs = NaN;
  finishedAtMs = NaN;
  /** Resolves when every record was sent (and acknowledged); rejects on a failed send. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;

  constructor(private readonly options: PacedProducerOptions) {
    const { records } = options;
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.t < records[i - 1]!.t) throw new Error(`PacedProducer: records not in event-time order at ${i}`);
    }
    this.virtualT = records[0]?.t ?? 0;
    this.pace = options.minutesPerSecond;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  /** Starts writing in the background. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    void this.loop().then(
      () => this.resolveDone(),
      (error: unknown) => this.rejectDone(error),
    );
    return this;
  }

  /** Records sent so far (acknowledged or in flight). */
  get sent(): number {
    return this.next;
  }

  get total(): number {
    return this.options.records.length;
  }

  /** Event time of the last record handed to Kafka (NaN before the first). */
  get eventTime(): number {
    return this.next === 0 ? NaN : this.options.records[this.next - 1]!.t;
  }

  /** The event time at `fraction` of the span (0 = first record, 1 = last). */
  timeAt(fraction: number): number {
    const r = this.options.records;
    if (r.length === 0) return 0;
    return r[0]!.t + fraction * (r[r.length - 1]!.t - r[0]!.t);
  }

  /** Changes the pace (minutes of event time per wall-clock second; Infinity: as fast as possible). */
  setPace(minutesPerSecond: number): void {
    this.pace = minutesPerSecond;
    // After "as fast as possible" the clock goes on from where production is, not from infinity.
    if (!Number.isFinite(this.virtualT)) this.virtualT = Number.isNaN(this.eventTime) ? (this.options.records[0]?.t ?? 0) : this.eventTime;
  }

  /** Records with event time > t wait until release() (or a later holdAt). */
  holdAt(t: number): void {
    this.barrier = t;
  }

  release(): void {
    this.barrier = Infinity;
  }

  /** Resolves once every record with event time <= t is acknowledged (or all are). */
  reached(t: number): Promise<void> {
    if (this.allAckedUpTo(t)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ t, resolve }));
  }

  /** Stops after the send in flight; resolves when nothing is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight.catch(() => undefined);
  }

  resume(): void {
    this.paused = false;
  }

  private cancelled = false;

  /** Ends production for good (cleanup): `done` rejects if records were left unsent. */
  cancel(): void {
    this.cancelled = true;
    if (!this.started) {
      this.started = true;
      this.rejectDone(new Error('PacedProducer: cancelled before it started'));
    }
  }

  private acked = 0;

  private allAckedUpTo(t: number): boolean {
    const r = this.options.records;
    return this.acked >= r.length || r[this.acked]!.t > t;
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!this.allAckedUpTo(w.t)) return true;
      w.resolve();
      return false;
    });
  }

  private async loop(): Promise<void> {
    const { records, brokers, topic } = this.options;
    const chunk = this.options.chunk ?? 2000;
    const tickMs = this.options.tickMs ?? 50;
    let producer: InputProducer | undefined;
    try {
      producer = await inputProducer(brokers);
      this.startedAtMs = Date.now();
      let last = performance.now();
      while (this.next < records.length) {
        if (this.cancelled) throw new Error(`PacedProducer: cancelled after ${this.next} of ${records.length} records`);
        const now = performance.now();
        const blocked = this.paused || records[this.next]!.t > this.barrier;
        if (!blocked) {
          const advanced = this.pace === Infinity ? Infinity : this.virtualT + ((now - last) / 1000) * this.pace * 60;
          this.virtualT = Math.min(advanced, this.barrier);
        }
        last = now;
        if (blocked) {
          await sleep(tickMs);
          continue;
        }
        const limit = Math.min(this.virtualT, this.barrier);
        let due = this.next;
        while (due < records.length && due - this.next < chunk && records[due]!.t <= limit) due++;
        const end = chunkEnd(records, this.next, chunk, due);
        if (end === this.next) {
          await sleep(tickMs);
          continue;
        }
        const slice = records.slice(this.next, end).map((r) => ({ key: r.key, value: r.value }));
        this.next = end;
        this.inFlight = producer.send(topic, slice);
        await this.inFlight;
        this.acked = end;
        this.wake();
      }
      this.finishedAtMs = Date.now();
    } finally {
      await producer?.close().catch(() => undefined);
      this.acked = records.length;
      this.wake();
    }
  }
}
