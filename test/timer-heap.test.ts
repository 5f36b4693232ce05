import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../src/store/timer-heap.js';

describe('TimerHeap', () => {
  it('pops entries in time order whatever the push order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 200 }), (times) => {
        const heap = new TimerHeap();
        times.forEach((at, i) => heap.push(at, `id${i}`));
        const popped: number[] = [];
        for (let entry = heap.pop(); entry; entry = heap.pop()) popped.push(entry[0]);
        expect(popped).toEqual([...times].sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });

  it('retain keeps only the accepted entries and stays a heap', () => {
    const heap = new TimerHeap();
    [50, 10, 40, 20, 30].forEach((at) => heap.push(at, `t${at}`));
    heap.retain((at) => at !== 10 && at !== 40);
    expect(heap.size).toBe(3);
    expect(heap.peek()).toBe(20);
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()]).toEqual([[20, 't20'], [30, 't30'], [50, 't50'], undefined]);
  });

  it('after retain, pops exactly the kept entries in time order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000 }), fc.boolean()), { maxLength: 300 }), (entries) => {
        const heap = new TimerHeap();
        entries.forEach(([at], i) => heap.push(at, `id${i}`));
        const keep = new Set(entries.flatMap(([, kept], i) => (kept ? [`id${i}`] : [])));
        heap.retain((_at, id) => keep.has(id));
        const popped: [number, string][] = [];
        for (let entry = heap.pop(); entry; entry = heap.pop()) popped.push(entry);
        expect(popped.map(([at]) => at)).toEqual(entries.filter(([, kept]) => kept).map(([at]) => at).sort((a, b) => a - b));
        expect(new Set(popped.map(([, id]) => id))).toEqual(keep);
      }),
    );
  });
});
