import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCodes } from '../../src/errors.js';
import { DEFAULT_WINDOW_SPEC_OPTIONS, windowSpec, type WindowSpecOptions } from '../../src/kernel/window-spec.js';

/** Runs `fn`, expects a ConfigError, returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('windowSpec defaults', () => {
  it('fills every missing option with the documented defaults (60/60/600/30, skew 300, idle 60, lead 60)', () => {
    const s = windowSpec();
    expect(s.advanceS).toBe(60);
    expect(s.shortS).toBe(60);
    expect(s.longS).toBe(600);
    expect(s.graceS).toBe(30);
    expect(s.maxSkewS).toBe(300);
    expect(s.idleTimeoutS).toBe(60);
    expect(s.leadS).toBe(60);
    expect(s.shortPanes).toBe(1);
    expect(s.longPanes).toBe(10);
    // 600/60 + ceil(30/60) + ceil(60/60) = 10 + 1 + 1, as the doc example says.
    expect(s.ringPanes).toBe(12);
  });

  it('keeps given options and defaults the others', () => {
    const s = windowSpec({ advanceS: 30, graceS: 0 });
    expect(s.advanceS).toBe(30);
    expect(s.graceS).toBe(0);
    expect(s.shortS).toBe(60);
    expect(s.longS).toBe(600);
    expect(s.shortPanes).toBe(2);
    expect(s.longPanes).toBe(20);
  });

  it('the defaults object itself is frozen and not changed by a call', () => {
    expect(Object.isFrozen(DEFAULT_WINDOW_SPEC_OPTIONS)).toBe(true);
    windowSpec({ advanceS: 10, shortS: 10, longS: 100, graceS: 5 });
    expect(DEFAULT_WINDOW_SPEC_OPTIONS.advanceS).toBe(60);
    expect(DEFAULT_WINDOW_SPEC_OPTIONS.graceS).toBe(30);
  });

  it('returns a frozen value', () => {
    const s = windowSpec();
    expect(Object.isFrozen(s)).toBe(true);
    expect(() => {
      (s as { advanceS: number }).advanceS = 1;
    }).toThrow(TypeError);
    expect(s.advanceS).toBe(60);
  });
});

describe('windowSpec ringPanes = max(longPanes + ceil(grace/advance) + ceil(lead/advance), longPanes + 1)', () => {
  const cases: Array<[Partial<WindowSpecOptions>, number]> = [
    // long 600/60 = 10; grace 30 → 1; lead 60 → 1
    [{}, 12],
    // grace 61 → ceil(61/60) = 2; lead 121 → 3
    [{ graceS: 61, leadS: 121 }, 15],
    // grace exactly one advance → 1, lead 0 → 0
    [{ graceS: 60, leadS: 0 }, 11],
    // grace 0 and lead 0 would give 10, but the ring keeps at least longPanes + 1
    [{ graceS: 0, leadS: 0 }, 11],
    // advance 10, long 30 → 3 panes; grace 25 → 3; lead 1 → 1
    [{ advanceS: 10, shortS: 10, longS: 30, graceS: 25, leadS: 1 }, 7],
    // advance == long: 1 pane; grace 0, lead 0 → max(1, 2)
    [{ advanceS: 60, shortS: 60, longS: 60, graceS: 0, leadS: 0 }, 2],
  ];
  for (const [opts, ring] of cases) {
    it(`${JSON.stringify(opts)} → ${ring}`, () => {
      const s = windowSpec(opts);
      expect(s.ringPanes).toBe(ring);
      expect(s.longPanes).toBe(s.longS / s.advanceS);
      expect(s.shortPanes).toBe(s.shortS / s.advanceS);
    });
  }
});

describe('windowSpec validation names the field and the rule', () => {
  const positive: Array<keyof WindowSpecOptions> = ['advanceS', 'shortS', 'longS', 'idleTimeoutS'];
  const nonNegative: Array<keyof WindowSpecOptions> = ['graceS', 'maxSkewS', 'leadS'];

  for (const field of positive) {
    for (const bad of [0, -60, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '60' as unknown as number]) {
      it(`${field} = ${String(bad)} is refused as not a positive integer`, () => {
        const e = configError(() => windowSpec({ [field]: bad }));
        expect(e.field).toBe(`windows.${field}`);
        expect(e.code).toBe(ErrorCodes.CONFIG);
        expect(e.message).toBe(
          `windows.${field} must be a positive integer number of seconds (got ${String(bad)})`,
        );
      });
    }
  }

  for (const field of nonNegative) {
    for (const bad of [-1, 0.5, Number.NaN, Number.NEGATIVE_INFINITY, null as unknown as number]) {
      it(`${field} = ${String(bad)} is refused as not a non-negative integer`, () => {
        const e = configError(() => windowSpec({ [field]: bad }));
        expect(e.field).toBe(`windows.${field}`);
        expect(e.message).toBe(
          `windows.${field} must be a non-negative integer number of seconds (got ${String(bad)})`,
        );
      });
    }
    it(`${field} = 0 is allowed`, () => {
      expect(windowSpec({ [field]: 0 })[field]).toBe(0);
    });
  }

  it('shortS must be a whole multiple of advanceS', () => {
    const e = configError(() => windowSpec({ advanceS: 60, shortS: 90, longS: 600 }));
    expect(e.field).toBe('windows.shortS');
    expect(e.message).toBe('windows.shortS must be a whole multiple of windows.advanceS (60)');
  });

  it('longS must be a whole multiple of advanceS', () => {
    const e = configError(() => windowSpec({ advanceS: 60, shortS: 60, longS: 630 }));
    expect(e.field).toBe('windows.longS');
    expect(e.message).toBe('windows.longS must be a whole multiple of windows.advanceS (60)');
  });

  it('longS must be at least shortS', () => {
    const e = configError(() => windowSpec({ advanceS: 60, shortS: 120, longS: 60, graceS: 0 }));
    expect(e.field).toBe('windows.longS');
    expect(e.message).toBe('windows.longS must be at least windows.shortS (120)');
    // equal is fine
    expect(windowSpec({ advanceS: 60, shortS: 120, longS: 120 }).longPanes).toBe(2);
  });

  it('graceS must be less than longS', () => {
    const e = configError(() => windowSpec({ longS: 600, graceS: 600 }));
    expect(e.field).toBe('windows.graceS');
    expect(e.message).toBe('windows.graceS must be less than windows.longS (600)');
    expect(windowSpec({ longS: 600, graceS: 599 }).graceS).toBe(599);
  });

  it('uses the caller prefix in the field and in cross-references', () => {
    const a = configError(() => windowSpec({ advanceS: 0 }, '--'));
    expect(a.field).toBe('--advanceS');
    expect(a.message).toBe('--advanceS must be a positive integer number of seconds (got 0)');
    const b = configError(() => windowSpec({ shortS: 45 }, '--'));
    expect(b.field).toBe('--shortS');
    expect(b.message).toBe('--shortS must be a whole multiple of --advanceS (60)');
    const c = configError(() => windowSpec({ graceS: 700 }, ''));
    expect(c.field).toBe('graceS');
    expect(c.message).toBe('graceS must be less than longS (600)');
  });

  it('reports the first invalid field in declaration order', () => {
    const e = configError(() => windowSpec({ shortS: -1, advanceS: -1 }));
    expect(e.field).toBe('windows.advanceS');
  });
});
