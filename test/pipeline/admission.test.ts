import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/kernel/contract.js';
import { eventColumns, type LoopEvent } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { Admission } from '../../src/pipeline/admission.js';

const spec = windowSpec({ graceS: 30, idleTimeoutS: 60 });
const NOW = 10_000_000;
const T0 = 9_000_000; // a multiple of 60

function event(t: number, partition: number, patch: Partial<LoopEvent> = {}): LoopEvent {
  return { tIn1: t - 1, tOut1: t - 0.8, tIn2: t - 0.2, tOut2: t, speed: 80, gapM: 30, gapS: 1.4, length: 4.5, point: 0, lane: 1, partition, ...patch };
}

/** Window ends taken by `offer`, as the router takes them (emits) before asking `fits`. */
const taken: number[] = [];

/** Runs check → observe → take final ends → fits → place as the router does; the reason or 'parked'. */
function offer(a: Admission, e: LoopEvent, nowS = NOW): number | 'parked' {
  const c = eventColumns([e]);
  const reason = a.check(c, 0, nowS);
  if (reason !== Reason.OK) return reason;
  a.observe(c, 0, nowS);
  const ends: number[] = [];
  a.takeFinalEnds(ends);
  taken.push(...ends);
  const pane = Math.floor(e.tOut2 / 60);
  if (!a.fits(pane)) return 'parked';
  a.place(pane);
  return Reason.OK;
}

describe('Admission: the service-wide watermark', () => {
  it('holds W until every assigned partition delivered, then starts at the pane holding W', () => {
    const a = new Admission(spec, 2, NOW, (p) => p === 0);
    expect(offer(a, event(T0 + 10, 0))).toBe(Reason.OK);
    expect(a.started).toBe(false);
    expect(a.watermark).toBe(-Infinity);
    expect(offer(a, event(T0 + 20, 1))).toBe(Reason.OK);
    // W = min(T0+10, T0+20) − 30 = T0 − 20, in the pane [T0−60, T0): the first end is T0.
    expect(a.watermark).toBe(T0 - 20);
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(T0);
    expect(a.startWatermark).toBe(T0 - 20);
  });

  it('a partition that is not assigned does not hold W back', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    a.setAssigned([0]);
    offer(a, event(T0 + 10, 0));
    expect(a.started).toBe(true);
  });

  it('an idle partition stops holding W after idleTimeoutS of wall clock', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    offer(a, event(T0 + 10, 0), NOW + 1);
    expect(a.started).toBe(false);
    a.tick(NOW + 59.9);
    expect(a.started).toBe(false);
    // Partition 1 has been silent since the start (NOW) for 60 s; partition 0 only for 59.
    a.tick(NOW + 60);
    expect(a.started).toBe(true);
    expect(a.watermark).toBe(T0 - 20);
  });

  it('refuses in the contract order and changes nothing for a refused event', () => {
    const a = new Admission(spec, 1, NOW, (p) => p === 0);
    expect(offer(a, event(T0, 0, { speed: NaN }))).toBe(Reason.NOT_FINITE);
    expect(offer(a, event(T0, 0, { point: 5 }))).toBe(Reason.UNKNOWN_POINT);
    expect(offer(a, event(T0, 0, { point: 5, speed: 999 }))).toBe(Reason.UNKNOWN_POINT);
    expect(offer(a, event(T0, 0, { lane: 9 }))).toBe(Reason.LANE_OUT_OF_RANGE);
    expect(offer(a, event(T0, 0, { speed: 401 }))).toBe(Reason.SPEED_OUT_OF_RANGE);
    expect(offer(a, event(T0, 0, { gapS: -1 }))).toBe(Reason.NEGATIVE_GAP);
    expect(offer(a, event(T0, 0, { length: 101 }))).toBe(Reason.LENGTH_OUT_OF_RANGE);
    expect(offer(a, event(T0, 0, { tOut1: T0 - 2 }))).toBe(Reason.BAD_TIMESTAMPS);
    expect(offer(a, event(NOW + 301, 0))).toBe(Reason.TOO_FAR_AHEAD);
    expect(a.watermark).toBe(-Infinity);
    expect(offer(a, event(T0 + 200, 0))).toBe(Reason.OK);
    // W = T0 + 170: the pane [T0+60, T0+120) is closed, [T0+120, T0+180) is not.
    expect(offer(a, event(T0 + 119.9, 0))).toBe(Reason.LATE);
    expect(offer(a, event(T0 + 120, 0))).toBe(Reason.OK);
  });

  it('window ends become final once W reaches them, each reported once', () => {
    const a = new Admission(spec, 1, NOW, () => true);
    const c = (t: number) => eventColumns([event(t, 0)]);
    a.observe(c(T0 + 31), 0, NOW); // W = T0 + 1: first end T0 + 60
    const ends: number[] = [];
    expect(a.takeFinalEnds(ends)).toBe(0);
    a.observe(c(T0 + 89.9), 0, NOW);
    expect(a.hasFinalEnd).toBe(false);
    a.observe(c(T0 + 90), 0, NOW); // W = T0 + 60
    expect(a.hasFinalEnd).toBe(true);
    expect(a.takeFinalEnds(ends)).toBe(1);
    expect(ends).toEqual([T0 + 60]);
    expect(a.hasFinalEnd).toBe(false);
    a.observe(c(T0 + 211), 0, NOW); // W = T0 + 181
    a.takeFinalEnds(ends);
    expect(ends).toEqual([T0 + 120, T0 + 180]);
  });

  it('parks (instead of refusing) an event the shards cannot hold yet, and it fits once W moved', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    // Before the start the span may be ringPanes − longPanes = 2 panes.
    expect(offer(a, event(T0 + 1, 0))).toBe(Reason.OK);
    expect(offer(a, event(T0 + 61, 0))).toBe(Reason.OK);
    expect(offer(a, event(T0 + 121, 0))).toBe('parked');
    // Partition 1 starts the stream: W = T0 + 5 − 30, first end T0; the rings hold the panes the
    // window ending T0 needs, from T0 − 600 on, ringPanes of them: up to T0 + 120 (excluded).
    expect(offer(a, event(T0 + 5, 1))).toBe(Reason.OK);
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(T0);
    expect(offer(a, event(T0 + 121, 0))).toBe('parked');
    // Partition 1 catches up: W = T0 + 70, ends T0 and T0 + 60 are emitted, the ring moves on.
    taken.length = 0;
    expect(offer(a, event(T0 + 100, 1))).toBe(Reason.OK);
    expect(taken).toEqual([T0, T0 + 60]);
    expect(offer(a, event(T0 + 121, 0))).toBe(Reason.OK);
  });

  it('a rebuild freezes W at the restart point and accepts closed panes a coming window needs', () => {
    const a = new Admission(spec, 1, NOW, () => true);
    const lastEnd = T0 + 600;
    a.beginRebuild(lastEnd);
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(lastEnd + 60);
    // Needed by the window ending lastEnd + 60: from lastEnd + 60 − 600 = T0 + 60 on.
    expect(offer(a, event(T0 + 59, 0))).toBe(Reason.LATE);
    expect(offer(a, event(T0 + 61, 0))).toBe(Reason.OK);
    expect(offer(a, event(lastEnd + 100, 0))).toBe(Reason.OK);
    expect(a.watermark).toBe(lastEnd);
    expect(a.hasFinalEnd).toBe(false);
    a.endRebuild(NOW);
    expect(a.watermark).toBe(lastEnd + 70);
    expect(a.hasFinalEnd).toBe(true);
  });
});
