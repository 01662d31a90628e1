import { type Stats, unwatchFile, watchFile } from 'node:fs';
import type { ModelRole } from '../model/model-schedule.js';
import { loadRiskModel } from '../model/risk-model.js';
import type { Emit } from '../observe/log.js';
import type { ModelControl } from './model-control.js';

/**
 * Watches a model file (`--model`, `--shadow-model`) by polling its status (fs.watchFile: works on
 * every file system, also for a file replaced by a rename, as editors and config maps do). A change
 * takes over from the first window end not yet emitted; a file that cannot be read or is not a good
 * model gets one log line and the running model stays (a half-written file is usually whole at the
 * next poll).
 */
export class ModelFileWatch {
  private readonly listener = (curr: Stats, prev: Stats): void => this.changed(curr, prev);

  constructor(
    private readonly path: string,
    private readonly role: ModelRole,
    private readonly flag: string,
    private readonly control: ModelControl,
    private readonly emit: Emit,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    // Not persistent: the watch alone never keeps the process alive.
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, this.listener);
  }

  close(): void {
    unwatchFile(this.path, this.listener);
  }

  private changed(curr: Stats, prev: Stats): void {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    const running = this.control.current(this.role);
    const stays = `the running ${this.role} model ${running === null ? '(none)' : `"${running.id}"`} stays`;
    if (curr.nlink === 0 && curr.mtimeMs === 0) {
      this.emit('warn', `saferoads: ${this.flag} ${this.path} is gone; ${stays}`, { path: this.path });
      return;
    }
    try {
      const model = loadRiskModel(this.path, this.flag);
      this.control.change(this.role, model, -Infinity, `${this.flag} ${this.path}`);
    } catch (error) {
      this.emit('warn', `saferoads: ${error instanceof Error ? error.message : String(error)}; ${stays}`, { path: this.path });
    }
  }
}
