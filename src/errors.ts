/**
 * The closed set of errors saferoads raises on purpose. Every error carries a stable `code`; the
 * original failure, if any, travels as `cause`. The CLI maps codes to exit status:
 * configuration problems exit 2, everything else 1.
 */
export const ErrorCodes = Object.freeze({
  /** A configuration value is missing or wrong; the message names the field and the fix. */
  CONFIG: 'SAFEROADS_CONFIG',
  /** The local Kafka broker could not be provisioned or started. */
  BROKER_START: 'SAFEROADS_BROKER_START',
  /** A Kafka operation failed (connect, produce, consume, admin). */
  KAFKA: 'SAFEROADS_KAFKA',
  /** The WASM kernel could not be loaded or initialised (capacity, wrong build). */
  KERNEL: 'SAFEROADS_KERNEL',
  /** A record could not be decoded. */
  DECODE: 'SAFEROADS_DECODE',
} as const);
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SaferoadsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SaferoadsError';
    this.code = code;
  }
}

/** A configuration mistake: `field` is the option's name as the user wrote it. */
export class ConfigError extends SaferoadsError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.CONFIG, `${field} ${message}`, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}

export class BrokerStartError extends SaferoadsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.BROKER_START, message, options);
    this.name = 'BrokerStartError';
  }
}

export class KafkaError extends SaferoadsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.KAFKA, message, options);
    this.name = 'KafkaError';
  }
}

export class KernelError extends SaferoadsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.KERNEL, message, options);
    this.name = 'KernelError';
  }
}

/** Exit status for an error that reaches the top of a command. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return error instanceof SaferoadsError && error.code === ErrorCodes.CONFIG ? 2 : 1;
}
