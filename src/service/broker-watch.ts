/**
 * Whether Kafka can be reached, as the service sees it: every request a broker answers (a fetch, a
 * heartbeat — every few seconds even when idle —, a produce, metadata) is contact (KafkaClient's
 * onContact). No contact for `detectMs` is an outage, counted from the last contact: logged once
 * when it is noticed and once when it ends, shown on /readyz, and after `maxOutageMs` the service
 * gives up (a KafkaError through `onExpired`) so that a supervisor can act. Meanwhile kafkajs and
 * the produce retries keep trying with backoff.
 */
import { KafkaError } from '../errors.js';
import { unreachableReason } from '../kafka/client.js';
import type { Emit } from '../observe/log.js';

export interface BrokerWatchOptions {
  /** The brokers, as in messages: "127.0.0.1:9092". */
  brokers: string;
  /** An outage longer than this ends the service (--max-broker-outage). */
  maxOutageMs: number;
  /** No contact for this long is an outage (default: 10 s, at most half of maxOutageMs). */
  detectMs?: number;
  log: Emit;
  /** How often the watch looks, ms (default 1 000). */
  tickMs?: number;
}

/** An instant as in the service's logs (ISO 8601 UTC, whole seconds). */
export function isoSecond(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export class BrokerWatch {
  readonly detectMs: number;
  private lastContactMs = Date.now();
  /** The last contact before the outage in progress; undefined while Kafka answers. */
  private downSinceMs?: number;
  /** What the last connection failure said ("connection refused"), for the log. */
  private reason?: string;
  private timer?: NodeJS.Timeout;
  private expired = false;
  /** Called once, when an outage lasted maxOutageMs. */
  onExpired: (error: KafkaError) => void = () => undefined;

  constructor(private readonly o: BrokerWatchOptions) {
    this.detectMs = o.detectMs ?? Math.max(1, Math.min(10_000, Math.floor(o.maxOutageMs / 2)));
  }

  /** Starts looking (the clock of "no contact" starts now). */
  start(): void {
    this.lastContactMs = Date.now();
    this.timer ??= setInterval(() => this.check(), this.o.tickMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A broker answered a request. */
  contact(): void {
    const now = Date.now();
    this.lastContactMs = now;
    if (this.downSinceMs === undefined) return;
    const s = Math.round((now - this.downSinceMs) / 1000);
    this.downSinceMs = undefined;
    this.reason = undefined;
    if (this.timer) this.o.log('info', `saferoads: Kafka at ${this.o.brokers} reachable again after ${s} s`, { outageS: s });
  }

  /** A request failed: remembers why when it is a connection failure; true if it was one. */
  trouble(error: unknown): boolean {
    const reason = unreachableReason(error);
    if (reason !== undefined) this.reason = reason;
    return reason !== undefined;
  }

  /** Date.now() of the last contact before the outage in progress; undefined while Kafka answers. */
  unreachableSinceMs(): number | undefined {
    return this.downSinceMs;
  }

  private check(): void {
    const now = Date.now();
    const quietMs = now - this.lastContactMs;
    const { brokers, maxOutageMs } = this.o;
    const limitS = Math.round(maxOutageMs / 1000);
    if (this.downSinceMs === undefined && quietMs >= this.detectMs) {
      this.downSinceMs = this.lastContactMs;
      this.o.log(
        'warn',
        `saferoads: Kafka at ${brokers} unreachable since ${isoSecond(this.downSinceMs)} (no answer for ${Math.round(quietMs / 1000)} s${this.reason ? `: ${this.reason}` : ''}): retrying; exiting if it lasts ${limitS} s (--max-broker-outage)`,
        { since: isoSecond(this.downSinceMs), reason: this.reason },
      );
    }
    if (this.downSinceMs !== undefined && quietMs >= maxOutageMs && !this.expired) {
      this.expired = true;
      this.stop();
      this.onExpired(
        new KafkaError(
          `Kafka at ${brokers} unreachable for ${Math.round(quietMs / 1000)} s (since ${isoSecond(this.downSinceMs)}${this.reason ? `, ${this.reason}` : ''}), longer than --max-broker-outage ${limitS} s: giving up so that a supervisor can act`,
        ),
      );
    }
  }
}
