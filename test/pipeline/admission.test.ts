import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/kernel/contract.js';
import { eventColumns, type LoopEvent } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { Admission, type PartitionStart } from '../../src/pipeline/admission.js';

const spec = windowSpec({ graceS: 30, idleTimeoutS: 60 });
const NOW = 10_000_000;
const T0 = 9_000_000; // a multiple of 60

function event(t: number, partition: number, patch: Partial<LoopEvent> = {}): LoopEvent {
  return { tIn1: t - 1, tOut1: t - 0.8, tIn2: t - 0.2, tOut2: t, speed: 80, gapM: 30, gapS: 1.4, length: 4.5, point: 0, lane: 1, partition, ...patch };
}

/** Window ends taken by `offer`, as the router takes them (emits) before asking `fits`. */
const taken: number[] = [];

/** Runs check → (first event) → observe → needed → take final ends → fits as the router does; the reason or 'parked'. */
function offer(a: Admission, e: LoopEvent, nowS = NOW): number | 'parked' {
  const c = eventColumns([e]);
  const reason = a.check(c, 0, nowS);
  if (reason !== Reason.OK) return reason;
  if (!a.started && !a.noteFirst(e.partition, e.tOut2, nowS)) return 'parked';
  a.observe(c, 0, nowS);
  const pane = Math.floor(e.tOut2 / 60);
  if (!a.needed(e.partition, pane)) return Reason.LATE;
  const ends: number[] = [];
  a.takeFinalEnds(ends);
  taken.push(...ends);
  if (!a.fits(pane)) return 'parked';
  return Reason.OK;
}

const fresh = (caughtUp: boolean): PartitionStart => ({ resumed: false, publishedThrough: -Infinity, maxEventTime: -Infinity, caughtUp });

describe('Admission: the service-wide watermark', () => {
  it('admits nothing before every assigned partition showed its first event, then starts at the earliest one − grace', () => {
    const a = new Admission(spec, 2, NOW, (p) => p === 0);
    expect(offer(a, event(T0 + 100, 0))).toBe('parked');
    expect(a.started).toBe(false);
    expect(a.watermark).toBe(-Infinity);
    expect(offer(a, event(T0 + 20, 1))).toBe(Reason.OK);
    // W0 = min(T0+100, T0+20) − 30 = T0 − 10, in the pane [T0−60, T0): the first end is T0.
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(T0);
    expect(a.startWatermark).toBe(T0 - 10);
    // Each partition's rows start with the first window its own first event reaches.
    expect(a.publishedThrough(0)).toBe(T0 + 60);
    expect(a.publishedThrough(1)).toBe(T0 - 60);
    expect(offer(a, event(T0 + 100, 0))).toBe(Reason.OK);
    expect(a.watermark).toBe(T0 - 10);
  });

  it('a partition that is not assigned does not hold the start', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    a.setAssigned([0]);
    offer(a, event(T0 + 10, 0));
    expect(a.started).toBe(true);
  });

  it('a partition is idle only when caught up, silent for idleTimeoutS, and fetches keep coming back', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    a.setAssigned([0, 1], new Map([[0, fresh(false)], [1, fresh(true)]]), NOW);
    a.fetched(NOW);
    expect(offer(a, event(T0 + 10, 0), NOW + 1)).toBe('parked');
    for (let s = 1; s <= 59; s++) a.fetched(NOW + s);
    a.tick(NOW + 59.9);
    expect(a.started).toBe(false);
    // Partition 1 had nothing to read and has been silent for 60 s while fetches came back.
    a.fetched(NOW + 60);
    a.tick(NOW + 60);
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(T0);
  });

  it('never idle while fetches fail (broker down): the silence counts anew once they come back', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    a.setAssigned([0, 1], new Map([[0, fresh(false)], [1, fresh(true)]]), NOW);
    a.fetched(NOW);
    offer(a, event(T0 + 10, 0), NOW + 1);
    // No fetch came back for 100 s: partition 1 is silent, but nobody could see its producer.
    a.tick(NOW + 100);
    expect(a.started).toBe(false);
    for (let s = 100; s <= 159; s++) a.fetched(NOW + s);
    a.tick(NOW + 159);
    expect(a.started).toBe(false);
    a.fetched(NOW + 160);
    a.tick(NOW + 160);
    expect(a.started).toBe(true);
  });

  it('a partition that is behind its high watermark or has records waiting is never idle', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    a.setAssigned([0, 1], new Map([[0, fresh(false)], [1, fresh(false)]]), NOW);
    offer(a, event(T0 + 10, 0), NOW);
    a.delivered(1, NOW, false);
    for (let s = 1; s <= 120; s++) a.fetched(NOW + s);
    a.tick(NOW + 120);
    expect(a.started).toBe(false);
    a.delivered(1, NOW + 120, true);
    a.setBacklog(1, true);
    for (let s = 121; s <= 240; s++) a.fetched(NOW + s);
    a.tick(NOW + 240);
    expect(a.started).toBe(false);
    a.setBacklog(1, false);
    a.tick(NOW + 240);
    expect(a.started).toBe(true);
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
    // Partition watermark T0 + 170: the pane [T0+60, T0+120) is closed, [T0+120, T0+180) is not.
    expect(offer(a, event(T0 + 119.9, 0))).toBe(Reason.LATE);
    expect(offer(a, event(T0 + 120, 0))).toBe(Reason.OK);
  });

  it("lateness is decided by the partition's own history, not by how far the others got", () => {
    const a = new Admission(spec, 2, NOW, () => true);
    offer(a, event(T0 + 5, 0));
    offer(a, event(T0 + 5, 1));
    expect(offer(a, event(T0 + 100, 0))).toBe(Reason.OK);
    // W is held by partition 1 at T0 − 25, but partition 0 has seen T0 + 100: its pane
    // [T0, T0+60) closed at its own watermark T0 + 70.
    expect(a.watermark).toBe(T0 - 25);
    expect(offer(a, event(T0 + 30, 0))).toBe(Reason.LATE);
    expect(offer(a, event(T0 + 30, 1))).toBe(Reason.OK);
  });

  it('window ends become final once W reaches them, each reported once', () => {
    const a = new Admission(spec, 1, NOW, () => true);
    const c = (t: number) => eventColumns([event(t, 0)]);
    a.noteFirst(0, T0 + 31, NOW); // W0 = T0 + 1: first end T0 + 60
    a.observe(c(T0 + 31), 0, NOW);
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
    expect(offer(a, event(T0 + 1, 0))).toBe('parked');
    // Partition 1 starts the stream: W0 = T0 + 1 − 30, first end T0; the rings hold the panes the
    // window ending T0 needs, from T0 − 600 on, ringPanes (12) of them: up to T0 + 120 (excluded).
    expect(offer(a, event(T0 + 5, 1))).toBe(Reason.OK);
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(T0);
    expect(offer(a, event(T0 + 1, 0))).toBe(Reason.OK);
    expect(offer(a, event(T0 + 61, 0))).toBe(Reason.OK);
    expect(offer(a, event(T0 + 121, 0))).toBe('parked');
    // Partition 1 catches up: W = T0 + 70, ends T0 and T0 + 60 are emitted, the ring moves on.
    taken.length = 0;
    expect(offer(a, event(T0 + 100, 1))).toBe(Reason.OK);
    expect(taken).toEqual([T0, T0 + 60]);
    expect(offer(a, event(T0 + 121, 0))).toBe(Reason.OK);
  });

  it('a partition resumed from its restart point: W starts there, panes no coming window needs are refused', () => {
    const a = new Admission(spec, 2, NOW, () => true);
    const end0 = T0 + 600;
    const end1 = T0 + 720;
    a.setAssigned(
      [0, 1],
      new Map([
        [0, { resumed: true, publishedThrough: end0, maxEventTime: T0 + 500, caughtUp: false }],
        [1, { resumed: true, publishedThrough: end1, maxEventTime: T0 + 700, caughtUp: false }],
      ]),
      NOW,
    );
    expect(a.started).toBe(true);
    expect(a.nextEnd).toBe(end0 + 60);
    expect(a.watermark).toBe(end0);
    expect(a.publishedThrough(1)).toBe(end1);
    // Partition 0: its own history says the pane [T0+360, T0+420) closed at T0 + 470.
    expect(offer(a, event(T0 + 419, 0))).toBe(Reason.LATE);
    expect(offer(a, event(T0 + 481, 0))).toBe(Reason.OK);
    // A partition's coming windows (after end1) need panes from end1 + 60 − 600 = T0 + 180 on only.
    const b = new Admission(spec, 1, NOW, () => true);
    b.setAssigned([0], new Map([[0, { resumed: true, publishedThrough: end1, maxEventTime: -Infinity, caughtUp: false }]]), NOW);
    expect(offer(b, event(T0 + 179, 0))).toBe(Reason.LATE);
    expect(offer(b, event(T0 + 181, 0))).toBe(Reason.OK);
    // W follows the partitions again, never below their restart points.
    taken.length = 0;
    offer(a, event(end0 + 100, 0));
    expect(a.watermark).toBe(end0 + 70);
    expect(taken).toEqual([end0 + 60]);
  });

  it('a finite replay: finished partitions hold nothing back, closeAll closes every window up to the last event', () => {
    const a = new Admission(spec, 3, NOW, () => true);
    a.setAssigned([0, 1, 2], new Map([[2, fresh(true)]]), NOW);
    offer(a, event(T0 + 10, 0));
    expect(offer(a, event(T0 + 20, 1))).toBe('parked');
    // Partition 2 had nothing to read: finished, it does not hold the start (no idle timeout).
    a.setFinished(2, NOW);
    expect(a.started).toBe(true);
    expect(offer(a, event(T0 + 10, 0))).toBe(Reason.OK);
    expect(offer(a, event(T0 + 100, 1))).toBe(Reason.OK);
    a.setFinished(0, NOW);
    a.setFinished(1, NOW);
    taken.length = 0;
    a.closeAll(NOW);
    const ends: number[] = [];
    a.takeFinalEnds(ends);
    // The last event (T0 + 100) lies in the pane ending T0 + 120: every end up to it is final.
    expect(ends).toEqual([T0, T0 + 60, T0 + 120]);
  });
});

describe('Admission: a shard follows the host, the host learns from reports', () => {
  it('the host starts and moves W from per-partition reports exactly as from the events themselves', () => {
    const byEvents = new Admission(spec, 2, NOW, (p) => p === 0);
    const byReports = new Admission(spec, 2, NOW, (p) => p === 0);
    const shard = new Admission(spec, 2, NOW, (p) => p === 0, true);
    // Partition 0's first event, then partition 1's, then more of 0.
    expect(offer(byEvents, event(T0 + 100, 0))).toBe('parked');
    expect(offer(byEvents, event(T0 + 130, 1))).toBe(Reason.OK);
    expect(offer(byEvents, event(T0 + 200, 0))).toBe(Reason.OK);
    expect(offer(byEvents, event(T0 + 190, 1))).toBe(Reason.OK);
    expect(offer(shard, event(T0 + 100, 0))).toBe('parked');
    expect(shard.started).toBe(false);
    byReports.report(0, shard.firstEventTime(0), -Infinity, NOW);
    expect(byReports.started).toBe(false);
    byReports.report(1, T0 + 130, T0 + 130, NOW);
    expect(byReports.started).toBe(true);
    expect(byReports.startWatermark).toBe(byEvents.startWatermark);
    byReports.report(0, NaN, T0 + 200, NOW);
    byReports.report(1, NaN, T0 + 190, NOW);
    expect(byReports.watermark).toBe(byEvents.watermark);
    // The shard never moves W itself; it takes the host's start and W.
    shard.follow(byReports.startWatermark, byReports.watermark);
    expect(shard.started).toBe(true);
    expect(shard.watermark).toBe(byReports.watermark);
    expect(shard.nextEnd).toBe((Math.floor(byReports.watermark / 60) + 1) * 60);
    offer(shard, event(T0 + 900, 0));
    expect(shard.watermark).toBe(byReports.watermark);
  });
});
