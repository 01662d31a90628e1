import { ModelSchedule, firstEndAfter, type ModelRole } from '../model/model-schedule.js';
import { sameRiskModel, type RiskModel } from '../model/risk-model.js';
import { scheduleJson } from '../pipeline/output.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import type { Emit } from '../observe/log.js';

/**
 * The host's model schedule and the one way it changes (the models topic, a model file): each
 * change takes over at a window boundary and goes to every shard as a whole new schedule, in each
 * shard's FIFO queue.
 *
 * The boundary `from`: the first window end after `timeS` (the control record's timestamp: the same
 * end on every instance and on a re-read after a restart), but never an end the host already asked a
 * shard to emit (`nextEnd`, read in the same synchronous step as the schedule is queued). So
 * every end a shard emits after the change is one the new schedule was queued before, every end
 * emitted before keeps its model, and a rebuild that computes an old end again scores it as before.
 */
export class ModelControl {
  readonly schedule: ModelSchedule<RiskModel>;

  constructor(
    active: RiskModel,
    shadow: RiskModel | null,
    private readonly pool: ShardPool,
    private readonly advanceS: number,
    /** The first window end not asked of any shard yet (−Infinity: none asked yet). */
    private readonly nextEnd: () => number,
    private readonly emit: Emit,
    /** A shard could not take the schedule (a crashed worker): the service stops. */
    private readonly onFailure: (error: unknown) => void,
  ) {
    this.schedule = new ModelSchedule(active, shadow);
  }

  /** The model of `role` that scores the latest window ends (what a change replaces). */
  current(role: ModelRole): RiskModel | null {
    return this.schedule.latest[role];
  }

  /**
   * `role`'s model becomes `model` (null: no shadow) from the first window end after `timeS`
   * (−Infinity: as soon as possible), or the first end not yet asked for if that is later. Nothing
   * happens if it is the model that scores the latest ends already. Returns the boundary (undefined:
   * no change).
   */
  change(role: ModelRole, model: RiskModel | null, timeS: number, source: string): number | undefined {
    const current = this.current(role);
    if (current === model || (current !== null && model !== null && sameRiskModel(current, model))) return undefined;
    const byTime = timeS === -Infinity ? -Infinity : firstEndAfter(timeS, this.advanceS);
    const from = Math.max(byTime, this.nextEnd());
    this.schedule.set(role, model, from);
    this.pool.broadcastModels(scheduleJson(this.schedule)).catch((error: unknown) => this.onFailure(error));
    const when = from === -Infinity ? 'every window end' : `window ends from ${new Date(from * 1000).toISOString()} on`;
    const what = model === null ? `no shadow model (${source}) for ${when}` : `${role} model "${model.id}" (${source}) scores ${when}`;
    this.emit('info', `saferoads: ${what}`, { role, model: model?.id ?? null, fromEnd: Number.isFinite(from) ? from : null });
    return from;
  }
}
