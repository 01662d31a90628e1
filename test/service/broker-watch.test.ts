import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { unreachableReason } from '../../src/kafka/client.js';
import { Health } from '../../src/observe/health.js';
import { BrokerWatch } from '../../src/service/broker-watch.js';
import { fakeProbe } from '../observe/fake-probe.js';

describe('BrokerWatch', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  function watch(maxOutageMs: number) {
    const lines: string[] = [];
    const expired: KafkaError[] = [];
    const w = new BrokerWatch({ brokers: 'b1:9092', maxOutageMs, log: (_level, line) => lines.push(line) });
    w.onExpired = (e) => expired.push(e);
    w.start();
    return { w, lines, expired };
  }

  it('logs an outage once as it is noticed and once as it ends, counted from the last answer', () => {
    const { w, lines, expired } = watch(300_000);
    expect(w.detectMs).toBe(10_000);
    vi.advanceTimersByTime(3_000);
    w.contact();
    w.trouble(Object.assign(new Error('Connection error: connect ECONNREFUSED 10.0.0.1:9092'), { name: 'KafkaJSConnectionError' }));
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual([
      'saferoads: Kafka at b1:9092 unreachable since 2026-03-01T12:00:03Z (no answer for 10 s: connection refused): retrying; exiting if it lasts 300 s (--max-broker-outage)',
    ]);
    expect(w.unreachableSinceMs()).toBe(Date.parse('2026-03-01T12:00:03Z'));
    w.contact();
    w.contact();
    expect(lines.slice(1)).toEqual(['saferoads: Kafka at b1:9092 reachable again after 60 s']);
    expect(w.unreachableSinceMs()).toBeUndefined();
    expect(expired).toEqual([]);
    w.stop();
  });

  it('gives up once after maxOutageMs without an answer (noticed after at most half of it)', () => {
    const { w, lines, expired } = watch(8_000);
    expect(w.detectMs).toBe(4_000);
    vi.advanceTimersByTime(30_000);
    expect(lines).toHaveLength(1);
    expect(expired).toHaveLength(1);
    expect(expired[0].message).toBe(
      'Kafka at b1:9092 unreachable for 8 s (since 2026-03-01T12:00:00Z), longer than --max-broker-outage 8 s: giving up so that a supervisor can act',
    );
  });

  it('answers keep it quiet', () => {
    const { w, lines, expired } = watch(8_000);
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(2_000);
      w.contact();
    }
    expect(lines).toEqual([]);
    expect(expired).toEqual([]);
    w.stop();
  });
});

describe('unreachableReason', () => {
  it.each([
    [new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), 'connection refused'],
    [new Error('x', { cause: new Error('getaddrinfo ENOTFOUND kafka.invalid') }), 'host not found'],
    [Object.assign(new Error('Connection timeout'), { name: 'KafkaJSConnectionError' }), 'connection timed out'],
    [new Error('The coordinator is loading'), undefined],
    ['not an error', undefined],
  ])('%s → %s', (error, reason) => {
    expect(unreachableReason(error)).toBe(reason);
  });
});

describe('readiness during an outage', () => {
  it('the broker check is false and says since when', () => {
    const h = new Health();
    try {
      const { probe } = fakeProbe({ lastFetchMs: Date.now() - 42_000 });
      h.bind({ ...probe, brokerUnreachableSinceMs: () => Date.parse('2026-03-01T12:01:03Z') });
      const r = h.readiness();
      expect(r.ok).toBe(false);
      expect(r.checks.broker).toEqual({ ok: false, detail: 'no fetch for 42 s (broker unreachable since 2026-03-01T12:01:03Z)' });
      // Reachable: as before.
      h.bind({ ...probe, lastFetchMs: () => Date.now(), brokerUnreachableSinceMs: () => undefined });
      expect(h.readiness().checks.broker.ok).toBe(true);
    } finally {
      h.close();
    }
  });
});
