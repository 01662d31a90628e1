import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { backoffDelay, isRetriable, type RetryInfo, TransientError, withRetry } from '../../src/kafka/retry.js';

// kafkajs's own error classes, built as kafkajs builds them (its retrier wraps errors the same way).
const {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSBrokerNotFound,
} = kafkajs;

// The type declarations leave out constructor arguments the JavaScript takes (message, cause).
const nonRetriable = (e: Error, cause?: Error) =>
  new (KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause?: Error }) => Error)(e, { cause });
const brokerNotFound = () => new (KafkaJSBrokerNotFound as unknown as new (m: string) => Error)('Broker 1 not found');
const refused = () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
const protocol = (type: string, retriable: boolean, message: string) =>
  // The constructor takes kafkajs's error-code table entry.
  new KafkaJSProtocolError({ type, code: 0, retriable, message } as unknown as Error);
const tooLarge = () =>
  protocol('MESSAGE_TOO_LARGE', false, 'The request included a message larger than the max message size the server will accept');
const noLeader = () =>
  protocol('LEADER_NOT_AVAILABLE', true, 'There is no leader for this topic-partition as we are in the middle of a leadership election');

describe('isRetriable', () => {
  it('takes kafkajs connection, timeout, broker and retriable protocol errors as transient', () => {
    expect(isRetriable(refused())).toBe(true);
    expect(isRetriable(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toBe(true);
    expect(isRetriable(brokerNotFound())).toBe(true);
    expect(isRetriable(noLeader())).toBe(true);
    expect(isRetriable(new TransientError('no leader yet'))).toBe(true);
  });

  it('takes kafkajs giving up after its own retries as transient', () => {
    const e = refused();
    expect(isRetriable(new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 4_000 }))).toBe(true);
  });

  it('decides a KafkaJSNonRetriableError or KafkaError wrapper by what it wraps', () => {
    expect(isRetriable(nonRetriable(noLeader(), noLeader()))).toBe(true);
    expect(isRetriable(nonRetriable(tooLarge(), tooLarge()))).toBe(false);
    expect(isRetriable(new KafkaJSNonRetriableError('Invalid topics array'))).toBe(false);
    expect(isRetriable(new KafkaError('cannot produce', { cause: refused() }))).toBe(true);
    expect(isRetriable(new KafkaError('the producer is closed'))).toBe(false);
  });

  it('refuses non-retriable protocol errors, programming errors and non-errors', () => {
    expect(isRetriable(tooLarge())).toBe(false);
    expect(isRetriable(protocol('TOPIC_AUTHORIZATION_FAILED', false, 'Not authorized to access topics'))).toBe(false);
    expect(isRetriable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(false);
    expect(isRetriable('ECONNREFUSED')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });

  it('takes an aggregate (createTopics) as transient only when every error in it is', () => {
    expect(isRetriable(new KafkaJSAggregateError('create', [noLeader(), noLeader()]))).toBe(true);
    expect(isRetriable(new KafkaJSAggregateError('create', [noLeader(), tooLarge()]))).toBe(false);
    expect(isRetriable(new KafkaJSAggregateError('create', []))).toBe(false);
  });

  it('ends on a cause chain that loops', () => {
    const a = new KafkaError('a');
    const b = new KafkaError('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isRetriable(a)).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from the first delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n))).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    expect(backoffDelay(1, 10, 35)).toBe(10);
    expect(backoffDelay(3, 10, 35)).toBe(35);
    expect(backoffDelay(10_000)).toBe(5_000);
  });
});

describe('withRetry', () => {
  /** A function that throws the given errors in turn, then returns 'done'; counts its calls. */
  function failing(errors: unknown[]) {
    const f = {
      calls: 0,
      fn: async () => {
        const error = errors[f.calls++];
        if (error !== undefined) throw error;
        return 'done';
      },
    };
    return f;
  }

  it('retries retriable failures with doubling waits and returns the result', async () => {
    const f = failing([refused(), noLeader(), new KafkaJSNumberOfRetriesExceeded(refused(), { retryCount: 5, retryTime: 1 })]);
    const retries: RetryInfo[] = [];
    const result = await withRetry('produce to t', f.fn, {
      deadlineMs: 60_000,
      initialDelayMs: 1,
      maxDelayMs: 1_000,
      onRetry: (info) => retries.push(info),
    });
    expect(result).toBe('done');
    expect(f.calls).toBe(4);
    expect(retries.map((r) => [r.what, r.attempt, r.delayMs])).toEqual([
      ['produce to t', 1, 1],
      ['produce to t', 2, 2],
      ['produce to t', 3, 4],
    ]);
    expect(retries.every((r) => isRetriable(r.error))).toBe(true);
  });

  it('throws a non-retriable failure at once, as a KafkaError naming the operation and the cause', async () => {
    const cause = tooLarge();
    const f = failing([cause]);
    const retries: RetryInfo[] = [];
    const error = await withRetry('produce to t', f.fn, { deadlineMs: 60_000, onRetry: (i) => retries.push(i) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as Error).message).toBe(`cannot produce to t: ${cause.message}`);
    expect((error as Error).cause).toBe(cause);
    expect(f.calls).toBe(1);
    expect(retries).toEqual([]);
  });

  it('passes a saferoads error through unchanged', async () => {
    const own = new KafkaError('cannot produce to t: the producer is closed');
    const error = await withRetry('produce to t', failing([own]).fn, { deadlineMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBe(own);
  });

  it('gives up when the deadline has passed, with the attempts and the last cause, never waiting past it', async () => {
    const thrown: Error[] = [];
    const retries: RetryInfo[] = [];
    const deadlineMs = 120;
    const error = await withRetry(
      'produce to t',
      async () => {
        const e = refused();
        thrown.push(e);
        throw e;
      },
      { deadlineMs, initialDelayMs: 5, maxDelayMs: 20, onRetry: (i) => retries.push(i) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaError);
    const message = (error as Error).message;
    expect(message).toMatch(/^cannot produce to t: gave up after (\d+) attempts in [\d.]+ s: Connection error: connect ECONNREFUSED/);
    expect(Number(/after (\d+) attempts/.exec(message)![1])).toBe(thrown.length);
    expect((error as Error).cause).toBe(thrown.at(-1));
    expect(thrown.length).toBeGreaterThan(1);
    expect(retries).toHaveLength(thrown.length - 1);
    expect(retries.every((r) => r.delayMs > 0 && r.delayMs <= 20)).toBe(true);
    // Each wait fits in what was left of the deadline, to the ms (and timers fire up to 1 ms early).
    const waited = retries.reduce((sum, r) => sum + r.delayMs, 0);
    expect(waited).toBeLessThanOrEqual(deadlineMs + 2 * retries.length);
    expect(retries.every((r) => Number.isInteger(r.delayMs))).toBe(true);
  });

  it('with a deadline of 0 does not retry at all', async () => {
    const f = failing([refused(), refused()]);
    const retries: RetryInfo[] = [];
    const error = await withRetry('list topics', f.fn, { deadlineMs: 0, onRetry: (i) => retries.push(i) }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^cannot list topics: gave up after 1 attempt in 0\.0 s: Connection error/);
    expect(f.calls).toBe(1);
    expect(retries).toEqual([]);
  });

  it('stops waiting when its signal aborts', async () => {
    const controller = new AbortController();
    const f = failing([refused(), refused()]);
    const error = await withRetry('produce to t', f.fn, {
      deadlineMs: 600_000,
      initialDelayMs: 600_000,
      signal: controller.signal,
      onRetry: () => queueMicrotask(() => controller.abort()),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as Error).message).toMatch(/^cannot produce to t: stopped while retrying: Connection error/);
    expect(f.calls).toBe(1);
  });
});
