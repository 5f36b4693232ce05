/** The public surface cannot be bent by a caller: exported constants are frozen. */
import { describe, expect, it } from 'vitest';
import { TERMINAL } from 'cascade-router';

describe('public surface', () => {
  it('TERMINAL answers the four ending statuses and refuses add, delete and clear', () => {
    expect([...TERMINAL].sort()).toEqual(['cancelled', 'delivered', 'exhausted', 'expired']);
    expect(TERMINAL.has('delivered')).toBe(true);
    expect(TERMINAL.has('active')).toBe(false);
    const mutable = TERMINAL as Set<string>;
    expect(() => mutable.add('active')).toThrow(TypeError);
    expect(() => mutable.delete('delivered')).toThrow(TypeError);
    expect(() => mutable.clear()).toThrow(TypeError);
    expect(TERMINAL.size).toBe(4);
    expect(Object.isFrozen(TERMINAL)).toBe(true);
  });
});
