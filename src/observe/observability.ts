/**
 * Metrics, health and their HTTP server as one unit the CLI starts before anything connects (a
 * port in use stops the program at once, exit 2) and hands to the service, which binds its probe.
 */
import { Health, type HealthOptions } from './health.js';
import { type ListenAddress, type ObservabilityServer, startHttpServer } from './http.js';
import { NO_METRICS, PromMetrics, type ServiceMetrics } from './metrics.js';
import type { ServiceProbe } from './probe.js';

/** What the service is given: where to count, and where to show its probe. */
export interface ServiceObserver {
  readonly metrics: ServiceMetrics;
  bind(probe: ServiceProbe): void;
}

/** Nothing observed (`--http off`). */
export const NO_OBSERVER: ServiceObserver = Object.freeze({ metrics: NO_METRICS, bind: () => undefined });

export interface ObservabilityOptions {
  health?: Partial<HealthOptions>;
  /** prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
  /** The flag named in a listen error. */
  flag?: string;
}

export class Observability implements ServiceObserver {
  private constructor(
    readonly metrics: PromMetrics,
    readonly health: Health,
    private readonly server: ObservabilityServer,
  ) {}

  /** Starts metrics, health and the HTTP server on `address`; ConfigError if it cannot listen. */
  static async start(address: ListenAddress, options: ObservabilityOptions = {}): Promise<Observability> {
    const metrics = new PromMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    const health = new Health(options.health);
    try {
      const server = await startHttpServer(
        address,
        {
          metrics: () => metrics.text(),
          metricsContentType: metrics.registry.contentType,
          liveness: () => health.liveness(),
          readiness: () => health.readiness(),
        },
        options.flag,
      );
      return new Observability(metrics, health, server);
    } catch (error) {
      health.close();
      throw error;
    }
  }

  /** The bound address (the real port when 0 was asked). */
  get address(): ListenAddress {
    return this.server.address;
  }

  bind(probe: ServiceProbe): void {
    this.metrics.bind(probe);
    this.health.bind(probe);
  }

  async close(): Promise<void> {
    this.health.close();
    await this.server.close();
  }
}
