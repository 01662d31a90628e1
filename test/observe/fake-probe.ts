import type { ServiceProbe, ShardStatus } from '../../src/observe/probe.js';

/** A ServiceProbe whose answers the test sets. */
export interface FakeState {
  weatherCaughtUp: boolean;
  assignment: number[] | undefined;
  rebuilding: number[];
  lastFetchMs: number;
  failure: unknown;
  watermarkS: number;
  lag: Map<number, number>;
  weather: Map<string, number>;
  shards: ShardStatus[];
}

export function fakeProbe(overrides: Partial<FakeState> = {}): { probe: ServiceProbe; state: FakeState } {
  const state: FakeState = {
    weatherCaughtUp: true,
    assignment: [0, 1],
    rebuilding: [],
    lastFetchMs: Date.now(),
    failure: undefined,
    watermarkS: -Infinity,
    lag: new Map(),
    weather: new Map(),
    shards: [{ threads: 1, pending: 0, lastProgressMs: performance.now(), kernelBytes: 1024 }],
    ...overrides,
  };
  const probe: ServiceProbe = {
    carTopic: 'car',
    weatherTopic: 'weather',
    weatherCaughtUp: () => state.weatherCaughtUp,
    assignment: () => state.assignment,
    rebuilding: () => state.rebuilding,
    lastFetchMs: () => state.lastFetchMs,
    failure: () => state.failure,
    watermarkS: () => state.watermarkS,
    consumerLag: (visit) => state.lag.forEach((lag, p) => visit(p, lag)),
    weatherLatest: () => state.weather,
    shards: () => state.shards,
  };
  return { probe, state };
}
