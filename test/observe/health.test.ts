import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { Health, LoopMonitor, resolveHealthOptions } from '../../src/observe/health.js';
import { fakeProbe } from './fake-probe.js';

const open: { close(): void }[] = [];
function health(options: ConstructorParameters<typeof Health>[0] = {}): Health {
  const h = new Health(options);
  open.push(h);
  return h;
}
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // blocks the event loop on purpose
  }
}

describe('readiness', () => {
  it('is not ready before the service is bound (starting)', () => {
    const r = health().readiness();
    expect(r.ok).toBe(false);
    expect(r.checks.service).toEqual({ ok: false, detail: expect.stringMatching(/starting/) });
  });

  it('is ready with weather caught up, partitions assigned and rebuilt, and a recent fetch', () => {
    const h = health();
    h.bind(fakeProbe().probe);
    const r = h.readiness();
    expect(r.ok).toBe(true);
    expect(Object.keys(r.checks).sort()).toEqual(['assignment', 'broker', 'rebuild', 'weather']);
    expect(r.checks.assignment.detail).toMatch(/partitions 0,1 of car/);
  });

  it.each([
    [{ weatherCaughtUp: false }, 'weather', /reading weather up to its end/],
    [{ assignment: undefined }, 'assignment', /waiting for the group/],
    [{ rebuilding: [1] }, 'rebuild', /re-reading partitions 1/],
    [{ lastFetchMs: Date.now() - 31_000 }, 'broker', /no fetch from the broker for 3\d s/],
    [{ lastFetchMs: -Infinity }, 'broker', /no fetch from the broker yet/],
  ] as const)('%j → not ready, %s says why', (state, check, detail) => {
    const h = health();
    h.bind(fakeProbe(state as never).probe);
    const r = h.readiness();
    expect(r.ok).toBe(false);
    expect(r.checks[check].ok).toBe(false);
    expect(r.checks[check].detail).toMatch(detail);
    // Only the check at fault fails.
    expect(Object.entries(r.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual([check]);
  });

  it('is ready with no partition assigned (more instances than partitions), without a fetch', () => {
    const h = health();
    h.bind(fakeProbe({ assignment: [], lastFetchMs: -Infinity }).probe);
    const r = h.readiness();
    expect(r.ok).toBe(true);
    expect(r.checks.assignment.detail).toMatch(/no partition/);
  });
});

describe('liveness', () => {
  it('is live while starting and when running', () => {
    const h = health();
    expect(h.liveness().ok).toBe(true);
    h.bind(fakeProbe().probe);
    const r = h.liveness();
    expect(r.ok).toBe(true);
    expect(Object.keys(r.checks).sort()).toEqual(['event_loop', 'service', 'shards']);
  });

  it('is not live after a failure, nor with a shard without thread, nor with a stalled shard', () => {
    const h = health({ shardStallMs: 1000 });
    const { probe, state } = fakeProbe();
    h.bind(probe);
    state.failure = new Error('produce refused');
    expect(h.liveness().checks.service).toEqual({ ok: false, detail: 'failed: produce refused' });
    state.failure = undefined;
    state.shards = [{ threads: 0, pending: 0, lastProgressMs: performance.now(), kernelBytes: 1 }];
    expect(h.liveness().checks.shards).toEqual({ ok: false, detail: 'shard 0 has no thread' });
    state.shards = [{ threads: 1, pending: 2, lastProgressMs: performance.now() - 5000, kernelBytes: 1 }];
    expect(h.liveness().checks.shards.detail).toMatch(/shard 0 finished no task for 5 s with 2 pending/);
    // Idle (nothing pending) is not a stall, however long ago the last task was.
    state.shards = [{ threads: 1, pending: 0, lastProgressMs: performance.now() - 500_000, kernelBytes: 1 }];
    expect(h.liveness().ok).toBe(true);
  });

  it('is not live after the event loop was blocked longer than the limit, and recovers after the window', async () => {
    const h = health({ maxLoopDelayMs: 150, loopWindowMs: 1000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(h.liveness().ok).toBe(true);
    busyWait(400);
    // Let the monitor's overdue tick run.
    await new Promise((r) => setTimeout(r, 50));
    const blocked = h.liveness();
    expect(blocked.ok).toBe(false);
    expect(blocked.checks.event_loop.detail).toMatch(/worst delay \d+ ms in the last 1 s \(limit 150 ms\)/);
    await new Promise((r) => setTimeout(r, 1300));
    expect(h.liveness().ok).toBe(true);
  });
});

describe('LoopMonitor', () => {
  it('counts a tick overdue right now', () => {
    const m = new LoopMonitor(1000);
    busyWait(600);
    expect(m.worstMs()).toBeGreaterThanOrEqual(300);
    m.close();
  });
});

describe('options', () => {
  it('refuses a non-positive value and a window shorter than the limit', () => {
    expect(() => resolveHealthOptions({ fetchStaleMs: 0 })).toThrow(ConfigError);
    expect(() => resolveHealthOptions({ fetchStaleMs: 0 })).toThrow(/health.fetchStaleMs must be a positive number/);
    expect(() => resolveHealthOptions({ maxLoopDelayMs: 5000, loopWindowMs: 1000 })).toThrow(/health.loopWindowMs must be at least/);
    expect(Object.isFrozen(resolveHealthOptions())).toBe(true);
  });
});
