/**
 * Retrying Kafka operations through transient trouble (a broker restarting, a topic whose leader is
 * not elected yet, a coordinator still loading) with capped exponential backoff, up to a time limit.
 * kafkajs retries each request a few times by itself (about 10 s); this is the longer, outer loop
 * that outlasts a broker outage or a cluster that is still starting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaError, SaferoadsError } from '../errors.js';

export interface RetryInfo {
  /** The operation, as in error messages: "produce to road-risk". */
  what: string;
  /** The attempt that just failed, from 1. */
  attempt: number;
  error: unknown;
  /** How long until the next attempt. */
  delayMs: number;
}

export interface RetryOptions {
  /**
   * How long to keep retrying, in milliseconds from the operation's first failure; 0 never retries.
   * No attempt starts after it, but one that started before may run past it (kafkajs's own retries).
   */
  deadlineMs: number;
  /** Called before each wait (to log it). */
  onRetry?: (info: RetryInfo) => void;
  /** First wait (default 200 ms); it doubles after every failure, up to `maxDelayMs` (default 5 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Aborting it ends a wait at once and fails the operation with its last error. */
  signal?: AbortSignal;
}

export const DEFAULT_INITIAL_DELAY_MS = 200;
export const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * An error that a later attempt may not meet: a condition saferoads itself waits out (a topic without
 * leaders yet). `retriable` is what kafkajs's errors carry too.
 */
export class TransientError extends Error {
  readonly retriable = true;
  constructor(message: string) {
    super(message);
    this.name = 'TransientError';
  }
}

/**
 * True when trying again later may succeed. kafkajs marks each error `retriable`; it wraps an error
 * it gave up on after its own retries in KafkaJSNumberOfRetriesExceeded (only ever for retriable
 * ones: a refused connection, a request timeout, no leader, a coordinator loading), and anything it
 * would not retry in KafkaJSNonRetriableError with the original as `cause`, so for that wrapper (and
 * for saferoads's own KafkaError) the wrapped error decides. MESSAGE_TOO_LARGE, authorization and
 * invalid requests are not retriable; neither are plain programming errors.
 */
export function isRetriable(error: unknown): boolean {
  let e = error;
  // Bounded: a cause chain that loops must not hang the caller.
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (e.name === 'KafkaJSNumberOfRetriesExceeded') return true;
    if (e.name === 'KafkaJSAggregateError') {
      // createTopics reports one error per topic: retriable only when every one is.
      const errors = (e as { errors?: unknown }).errors;
      return Array.isArray(errors) && errors.length > 0 && errors.every(isRetriable);
    }
    if ((e.name === 'KafkaJSNonRetriableError' || e instanceof SaferoadsError) && e.cause !== undefined && e.cause !== e) {
      e = e.cause;
      continue;
    }
    return (e as { retriable?: unknown }).retriable === true;
  }
  return false;
}

/** The wait after failed attempt `attempt` (from 1): initial · 2^(attempt-1), at most `max`. */
export function backoffDelay(attempt: number, initialMs = DEFAULT_INITIAL_DELAY_MS, maxMs = DEFAULT_MAX_DELAY_MS): number {
  // Capping the exponent first keeps the power finite for any attempt count.
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `fn` until it succeeds, retrying retriable failures (see isRetriable) with capped exponential
 * backoff for up to `deadlineMs` from the first failure. A non-retriable failure is thrown at once:
 * a SaferoadsError as it is, anything else as a KafkaError "cannot <what>: <cause>". When the time is
 * up (or `signal` aborts), it throws a KafkaError naming the attempts and the last cause.
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { deadlineMs, onRetry, signal } = options;
  const initialMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  let firstFailure: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetriable(error)) {
        if (error instanceof SaferoadsError) throw error;
        throw new KafkaError(`cannot ${what}: ${messageOf(error)}`, { cause: error });
      }
      // Monotonic: a wall-clock step must not end (or stretch) the retries.
      const now = performance.now();
      firstFailure ??= now;
      const elapsed = now - firstFailure;
      const remaining = deadlineMs - elapsed;
      if (remaining <= 0 || signal?.aborted) {
        const attempts = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
        const why = signal?.aborted ? 'stopped while retrying' : `gave up after ${attempts} in ${(elapsed / 1000).toFixed(1)} s`;
        throw new KafkaError(`cannot ${what}: ${why}: ${messageOf(error)}`, { cause: error });
      }
      // The last wait is shortened so that one more attempt starts at the deadline (to the ms), not after it.
      const delayMs = Math.min(backoffDelay(attempt, initialMs, maxMs), Math.ceil(remaining));
      onRetry?.({ what, attempt, error, delayMs });
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) throw new KafkaError(`cannot ${what}: stopped while retrying: ${messageOf(error)}`, { cause: error });
    }
  }
}
