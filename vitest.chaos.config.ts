import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run chaos`: the fault suite's full versions (SAFEROADS_CHAOS=full, set by the script), one
 * case at a time so that each has the machine (two cores, the shared broker) to itself and its
 * figures (.cache/chaos-figures.json) are not skewed by the others. `npm test` runs the short
 * versions with everything else, under the default config.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/chaos/**/*.test.ts'],
      fileParallelism: false,
      testTimeout: 1_800_000,
    },
  }),
);
