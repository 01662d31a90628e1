/**
 * Which model scores which window end: a list of (fromEnd, active, shadow) in ascending fromEnd,
 * the first from −Infinity. The host keeps one and sends a copy to every shard (in each shard's FIFO
 * queue, with the batches and watermark advances); a shard picks the entry of a row by the row's
 * window end. Every shard — and a rebuild after a reassignment that computes an end again — thus
 * scores one window end with one model, whatever moment the change reached it.
 *
 * Generic over the model: the host holds RiskModels, the shard protocol plain model JSON.
 */

export type ModelRole = 'active' | 'shadow';

/** The models of one window end: `shadow` null when none is compared. */
export interface ScoringModels<M> {
  readonly active: M;
  readonly shadow: M | null;
}

export interface ScheduleEntry<M> extends ScoringModels<M> {
  /** The first window end these models score (−Infinity for the first entry). */
  readonly fromEnd: number;
}

/**
 * Entries kept. Changes are rare (an operator's action); past this the oldest entry is merged into
 * the next, whose models then stand for every earlier end too (ends that old are not emitted again:
 * a rebuild starts at most a restart point behind the stream).
 */
export const MAX_SCHEDULE_ENTRIES = 64;

/** The first window end (a multiple of `advanceS`) after `timeS`. */
export function firstEndAfter(timeS: number, advanceS: number): number {
  return (Math.floor(timeS / advanceS) + 1) * advanceS;
}

export class ModelSchedule<M> {
  private entries: ScheduleEntry<M>[];

  constructor(active: M, shadow: M | null = null) {
    this.entries = [{ fromEnd: -Infinity, active, shadow }];
  }

  /** A schedule of these entries (ascending fromEnd, the first from −Infinity), e.g. after crossing to a shard. */
  static of<M>(entries: readonly ScheduleEntry<M>[]): ModelSchedule<M> {
    if (entries.length === 0 || entries[0].fromEnd !== -Infinity) throw new RangeError('a model schedule starts with an entry from -Infinity');
    for (let k = 1; k < entries.length; k++) {
      if (!(entries[k].fromEnd > entries[k - 1].fromEnd)) throw new RangeError('model schedule entries must ascend by fromEnd');
    }
    const schedule = new ModelSchedule(entries[0].active, entries[0].shadow);
    schedule.entries = entries.map((e) => ({ ...e }));
    return schedule;
  }

  /** The entries, oldest first. */
  get list(): readonly ScheduleEntry<M>[] {
    return this.entries;
  }

  /** The models of the latest entry: what a change is compared with. */
  get latest(): ScheduleEntry<M> {
    return this.entries[this.entries.length - 1];
  }

  /** The entry scoring window end `end` (a NaN end gets the first entry). */
  at(end: number): ScheduleEntry<M> {
    const e = this.entries;
    // Few entries, and callers cache per window end: a scan from the newest is enough.
    for (let k = e.length - 1; k > 0; k--) if (e[k].fromEnd <= end) return e[k];
    return e[0];
  }

  /**
   * `role`'s model is `model` for every window end from `fromEnd` on (the latest decision wins from
   * there: a later change of the same role already scheduled is overridden, one of the other role
   * stays). `fromEnd` −Infinity replaces the role everywhere.
   */
  set(role: ModelRole, model: M | null, fromEnd: number): void {
    if (role === 'active' && model === null) throw new RangeError('the active model cannot be removed');
    const out: ScheduleEntry<M>[] = [];
    let inserted = false;
    for (const e of this.entries) {
      if (e.fromEnd < fromEnd) {
        out.push(e);
        continue;
      }
      if (!inserted && e.fromEnd > fromEnd) out.push(withRole(out[out.length - 1] ?? e, role, model, fromEnd));
      inserted = true;
      out.push(withRole(e, role, model, e.fromEnd));
    }
    if (!inserted) out.push(withRole(out[out.length - 1], role, model, fromEnd));
    // Neighbours with the same models are one entry.
    const merged: ScheduleEntry<M>[] = [];
    for (const e of out) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.active === e.active && last.shadow === e.shadow) continue;
      merged.push(e);
    }
    while (merged.length > MAX_SCHEDULE_ENTRIES) {
      merged.shift();
      merged[0] = { ...merged[0], fromEnd: -Infinity };
    }
    this.entries = merged;
  }

  /** The same schedule over other models (each distinct model mapped once: shared references stay shared). */
  map<N>(f: (model: M) => N): ModelSchedule<N> {
    const seen = new Map<M, N>();
    const of = (m: M): N => {
      let n = seen.get(m);
      if (n === undefined) seen.set(m, (n = f(m)));
      return n;
    };
    return ModelSchedule.of(this.entries.map((e) => ({ fromEnd: e.fromEnd, active: of(e.active), shadow: e.shadow === null ? null : of(e.shadow) })));
  }
}

function withRole<M>(e: ScheduleEntry<M>, role: ModelRole, model: M | null, fromEnd: number): ScheduleEntry<M> {
  return role === 'active' ? { fromEnd, active: model as M, shadow: e.shadow } : { fromEnd, active: e.active, shadow: model };
}
