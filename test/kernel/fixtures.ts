import type { KernelOptions } from '../../src/kernel/kernel.js';
import type { LoopEvent } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';

/** A small spec for hand-made streams: 1-minute panes, 3-minute long window, 10 s grace. */
export const SPEC = windowSpec({ advanceS: 60, shortS: 60, longS: 180, graceS: 10, maxSkewS: 300, idleTimeoutS: 60, leadS: 60 });
export const OPTIONS: KernelOptions = { spec: SPEC, pointCapacity: 4, partitions: 2, startWallClockS: 1000 };

/** A valid event at time `t` on point 0, lane 1, partition 0; `o` overrides any field. */
export const ev = (t: number, o: Partial<LoopEvent> = {}): LoopEvent => ({
  tIn1: t - 2,
  tOut1: t - 1.5,
  tIn2: t - 1,
  tOut2: t,
  speed: 50,
  gapM: 20,
  gapS: 1.5,
  length: 4,
  point: 0,
  lane: 1,
  partition: 0,
  ...o,
});
