/**
 * Liveness and readiness of the service, decided from its probe when asked (`/livez`, `/readyz`).
 *
 * Live: the process answers, its event loop was not blocked for long recently, every shard thread
 * exists and makes progress when it has work, and no failure stopped the service. A supervisor
 * restarts a process that is not live.
 * Ready: the weather topic is read up to its end (rows would miss weather otherwise), the group
 * assigned partitions and every one of them finished re-reading what an earlier owner processed
 * (its window state is rebuilt), and the broker answers fetches. Not ready is no reason to restart.
 */
import { ConfigError } from '../errors.js';
import type { ServiceProbe } from './probe.js';

export interface Check {
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, Check>;
}

export interface HealthOptions {
  /** Not live when the event loop was blocked longer than this within the last loopWindowMs. */
  maxLoopDelayMs: number;
  loopWindowMs: number;
  /** Not live when a shard has work and finished nothing for this long (a hung kernel). */
  shardStallMs: number;
  /** Not ready when the car consumer's last completed fetch is older (kafkajs fetches wait at most 1 s). */
  fetchStaleMs: number;
}

export const DEFAULT_HEALTH_OPTIONS: Readonly<HealthOptions> = Object.freeze({
  maxLoopDelayMs: 5_000,
  loopWindowMs: 10_000,
  shardStallMs: 60_000,
  fetchStaleMs: 30_000,
});

export function resolveHealthOptions(options: Partial<HealthOptions> = {}): Readonly<HealthOptions> {
  const o = { ...DEFAULT_HEALTH_OPTIONS, ...options };
  for (const key of Object.keys(DEFAULT_HEALTH_OPTIONS) as (keyof HealthOptions)[]) {
    if (!Number.isFinite(o[key]) || o[key] <= 0) throw new ConfigError(`health.${key}`, `must be a positive number of milliseconds (got ${o[key]})`);
  }
  if (o.loopWindowMs < o.maxLoopDelayMs) {
    throw new ConfigError('health.loopWindowMs', `must be at least health.maxLoopDelayMs (${o.maxLoopDelayMs}) (got ${o.loopWindowMs})`);
  }
  return Object.freeze(o);
}

/** Ticks of the loop monitor: a blocked loop shows as a tick that came this much later than due. */
const TICK_MS = 250;

/**
 * Event-loop delay by timer drift: the worst lateness of a 250 ms tick over a rolling window. A loop
 * blocked right now cannot answer `/livez` at all (the prober's timeout covers that); once it runs
 * again the block shows here for the length of the window.
 */
export class LoopMonitor {
  private readonly late: Float64Array;
  private next = 0;
  private due: number;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs: number) {
    this.late = new Float64Array(Math.max(1, Math.ceil(windowMs / TICK_MS)));
    this.due = performance.now() + TICK_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.late[this.next] = Math.max(0, now - this.due);
      this.next = (this.next + 1) % this.late.length;
      this.due = now + TICK_MS;
    }, TICK_MS);
    this.timer.unref();
  }

  /** The worst delay within the window, ms, counting a tick overdue right now. */
  worstMs(): number {
    let worst = Math.max(0, performance.now() - this.due);
    for (const v of this.late) if (v > worst) worst = v;
    return worst;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

export class Health {
  readonly options: Readonly<HealthOptions>;
  private probe?: ServiceProbe;
  private readonly loop: LoopMonitor;

  constructor(options: Partial<HealthOptions> = {}) {
    this.options = resolveHealthOptions(options);
    this.loop = new LoopMonitor(this.options.loopWindowMs);
  }

  /** The service to judge (until then: starting, live but not ready). */
  bind(probe: ServiceProbe): void {
    this.probe = probe;
  }

  liveness(): HealthReport {
    const o = this.options;
    const checks: Record<string, Check> = {};
    const worst = this.loop.worstMs();
    checks.event_loop = {
      ok: worst <= o.maxLoopDelayMs,
      detail: `worst delay ${Math.round(worst)} ms in the last ${o.loopWindowMs / 1000} s (limit ${o.maxLoopDelayMs} ms)`,
    };
    const p = this.probe;
    if (p === undefined) {
      checks.service = { ok: true, detail: 'starting' };
      return report(checks);
    }
    const failure = p.failure();
    checks.service = failure === undefined ? { ok: true, detail: 'running' } : { ok: false, detail: `failed: ${failure instanceof Error ? failure.message : String(failure)}` };
    const now = performance.now();
    const problems: string[] = [];
    const shards = p.shards();
    shards.forEach((s, shard) => {
      if (s.threads < 1) problems.push(`shard ${shard} has no thread`);
      else if (s.pending > 0 && now - s.lastProgressMs > o.shardStallMs) {
        problems.push(`shard ${shard} finished no task for ${Math.round((now - s.lastProgressMs) / 1000)} s with ${s.pending} pending`);
      }
    });
    checks.shards = { ok: problems.length === 0, detail: problems.length === 0 ? `${shards.length} shard thread(s) alive` : problems.join('; ') };
    return report(checks);
  }

  readiness(): HealthReport {
    const p = this.probe;
    if (p === undefined) return report({ service: { ok: false, detail: 'starting: connecting to Kafka, starting the shards' } });
    const checks: Record<string, Check> = {};
    checks.weather = p.weatherCaughtUp()
      ? { ok: true, detail: `${p.weatherTopic} read to its end` }
      : { ok: false, detail: `reading ${p.weatherTopic} up to its end` };
    const assigned = p.assignment();
    if (assigned === undefined) checks.assignment = { ok: false, detail: 'waiting for the group to assign partitions' };
    else {
      checks.assignment = {
        ok: true,
        detail: assigned.length === 0 ? `no partition of ${p.carTopic} assigned (more instances than partitions)` : `partitions ${assigned.join(',')} of ${p.carTopic}`,
      };
      const rebuilding = p.rebuilding();
      checks.rebuild =
        rebuilding.length === 0
          ? { ok: true, detail: 'every assigned partition rebuilt' }
          : { ok: false, detail: `re-reading partitions ${rebuilding.join(',')} up to their committed offsets` };
    }
    const fetchedAgoMs = Date.now() - p.lastFetchMs();
    const downSinceMs = p.brokerUnreachableSinceMs?.();
    if (downSinceMs !== undefined) {
      // An outage the service noticed (no broker answered anything for a while): not ready, whatever the fetches.
      const since = `broker unreachable since ${new Date(downSinceMs).toISOString().replace(/\.\d+Z$/, 'Z')}`;
      checks.broker = {
        ok: false,
        detail: Number.isFinite(fetchedAgoMs) ? `no fetch for ${Math.round(fetchedAgoMs / 1000)} s (${since})` : `no fetch from the broker yet (${since})`,
      };
    } else if (assigned !== undefined && assigned.length === 0) checks.broker = { ok: true, detail: 'no partition to fetch' };
    else if (fetchedAgoMs <= this.options.fetchStaleMs) checks.broker = { ok: true, detail: `last fetch ${(fetchedAgoMs / 1000).toFixed(1)} s ago` };
    else {
      checks.broker = {
        ok: false,
        detail: Number.isFinite(fetchedAgoMs) ? `no fetch from the broker for ${Math.round(fetchedAgoMs / 1000)} s` : 'no fetch from the broker yet',
      };
    }
    return report(checks);
  }

  close(): void {
    this.loop.close();
  }
}

function report(checks: Record<string, Check>): HealthReport {
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}
