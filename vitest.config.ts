import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real Kafka broker for the whole run, started before the first test and stopped after the
    // last, also when tests fail (see test/setup/kafka.global.ts).
    globalSetup: ['test/setup/kafka.global.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: JVM broker + workers; more parallel files only make each slower.
    maxWorkers: 2,
  },
});
