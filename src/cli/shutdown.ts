/**
 * Ctrl-C and SIGTERM for the long-running commands (run, demo). The first signal asks for a
 * graceful stop at whatever stage the command is in: `signal` aborts (a local broker that is still
 * starting gives up and removes its data) and `requested` resolves (a running service finishes the
 * batch in hand, commits and stops). A second signal stops at once: the temporary directories
 * made through tempDir() are removed, a local broker is killed by its exit handler, exit 130.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Shutdown {
  private readonly controller = new AbortController();
  private readonly dirs = new Set<string>();
  private resolveRequested!: (signal: NodeJS.Signals) => void;
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly requested = new Promise<NodeJS.Signals>((resolve) => (this.resolveRequested = resolve));
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (!this.controller.signal.aborted) {
      this.controller.abort();
      this.resolveRequested(signal);
      return;
    }
    this.log(`${signal} again: stopping at once`);
    this.removeTempDirs();
    process.exit(130);
  };
  private readonly onExit = (): void => this.removeTempDirs();

  /** `log` tells about a second signal. */
  constructor(private readonly log: (line: string) => void) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** A new directory in the temporary folder, removed by removeTempDirs(), at exit, or on a second signal. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }

  removeTempDirs(): void {
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }

  /**
   * A start-up step a signal may cancel (it gets `signal`): its value; undefined when a signal
   * stopped it. Either way but success, `undo` runs and the command is done (dispose); an error
   * that no signal caused is thrown on.
   */
  async startStep<T>(step: Promise<T>, undo: () => Promise<void> = async () => undefined): Promise<T | undefined> {
    try {
      return await step;
    } catch (error) {
      await undo();
      this.dispose();
      if (this.stopping) return undefined;
      throw error;
    }
  }

  /** Removes the temporary directories and the signal handlers (the command is done). */
  dispose(): void {
    this.removeTempDirs();
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }
}
