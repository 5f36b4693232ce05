import type { Cascade } from '../core/types.js';

/**
 * A compact form for the cascades the memory store has not touched for a while: most of an open cascade
 * (its plan, steps, attempt, history) is the same from one cascade to the next but for a few ids and times,
 * and as objects it takes about a kilobyte (a field is 8 bytes, a time 16 more in its own box).
 *
 * A cascade is split into its shape (every key in order, and every value but the per-cascade ones), interned
 * once for all cascades alike, and its own values: strings and objects (id, message, recipient, provider
 * ids) in a list, numbers (times, version, spend, learned figures) in a numbers-only list, shared by every
 * cascade with as many of each (a slab), equal values stored once. Unpacking builds the same keys in the same order with
 * the same values; anything the walk does not recognize (another prototype, too many values, a shape beyond
 * the cap) is simply not packed and stays an object.
 *
 * One file over ~250 lines: matching, describing and rebuilding must treat every value alike (`classify`),
 * and are checked against each other best side by side.
 */

/** Keys whose numbers differ per cascade (stored as values); any other number is part of the shape. */
const NUMBERS: Readonly<Record<Kind, ReadonlySet<string>>> = {
  cascade: new Set(['createdAt', 'updatedAt', 'endedAt', 'timerAt', 'version', 'spendMicros', 'doubleSpendMicros']),
  plan: new Set(['createdAt', 'startAt', 'deadlineAt', 'maxSpendMicros', 'bestSpendMicros']),
  step: new Set(['startAt', 'costMicros', 'probability', 'latencyMs', 'failure']),
  attempt: new Set(['startedAt', 'endedAt', 'pacedUntil', 'priceMicros', 'costMicros']),
  change: new Set(['at']),
};
/** Keys whose strings differ per cascade (stored as values); any other string is part of the shape. */
const STRINGS: Readonly<Record<Kind, ReadonlySet<string>>> = {
  cascade: new Set(['id', 'key']),
  plan: new Set(),
  step: new Set(['address']),
  attempt: new Set(['providerMessageId']),
  change: new Set(),
};
type Kind = 'cascade' | 'plan' | 'step' | 'attempt' | 'change';
/** Objects packed field by field: what each holds, by key. */
const NESTED: Readonly<Record<Kind, Readonly<Record<string, { kind: Kind; list: boolean }>>>> = {
  cascade: { plan: { kind: 'plan', list: false }, attempts: { kind: 'attempt', list: true } },
  plan: { steps: { kind: 'step', list: true } },
  step: {},
  attempt: { history: { kind: 'change', list: true } },
  change: {},
};

/** The most numbers and references one cascade may have packed; a cascade with more stays an object. */
export const NUMBER_SLOTS = 24;
export const REF_SLOTS = 8;
// A handle is a cascade's place in its slab times SLABS, plus the slab's index: a small integer (Smi).
const SLABS = 256;
const MAX_PLACES = 2 ** 23;
const MAX_SHAPES = 4096;
const RECENT_SHAPES = 8;
const FROZEN_EMPTY: readonly never[] = Object.freeze([]);

/** How one value is rebuilt. */
type Value =
  | { readonly code: 'shape'; readonly value: unknown } // the same in every cascade of the shape
  | { readonly code: 'number'; readonly slot: number }
  | { readonly code: 'ref'; readonly slot: number }
  | { readonly code: 'empty'; readonly frozen: boolean } // an empty array: a new one, or a frozen one
  | { readonly code: 'address' } // the recipient's address for the step's channel
  | { readonly code: 'object'; readonly node: Node }
  | { readonly code: 'list'; readonly nodes: readonly Node[] };
interface Node {
  readonly keys: readonly string[];
  readonly values: readonly Value[];
}

type Code = Value['code'];

/**
 * Collects one cascade's values while it is walked: either against a shape already interned (`match`, no
 * allocation but the value lists) or describing a new one (`describe`). Both classify each value alike.
 */
class Walk {
  readonly numbers: number[] = [];
  readonly refs: unknown[] = [];
  description = '';
  recipient: unknown;

  reset(): void {
    this.numbers.length = 0;
    this.refs.length = 0;
    this.recipient = undefined;
  }

  /** How a value is kept; `channel` is the step's, when the key is a step's address. */
  classify(kind: Kind, key: string, value: unknown, channel: unknown): Code {
    const nested = NESTED[kind][key];
    if (nested !== undefined && (nested.list ? Array.isArray(value) && value.length > 0 : typeof value === 'object' && value !== null && !Array.isArray(value))) {
      return nested.list ? 'list' : 'object';
    }
    if (kind === 'step' && key === 'address' && typeof value === 'string' && typeof channel === 'string' && this.#addressOf(channel) === value) return 'address';
    if (typeof value === 'number') return NUMBERS[kind].has(key) ? 'number' : 'shape';
    if (typeof value === 'string') return STRINGS[kind].has(key) ? 'ref' : 'shape';
    if (typeof value === 'boolean' || value === undefined || value === null) return 'shape';
    if (Array.isArray(value) && value.length === 0 && Object.getPrototypeOf(value) === Array.prototype) return 'empty';
    return 'ref';
  }

  /** Whether the object has the node's shape; its values are collected. */
  match(object: object, kind: Kind, node: Node): boolean {
    if (Object.getPrototypeOf(object) !== Object.prototype) return false;
    const { keys, values } = node;
    let count = 0;
    for (const key in object) if (key !== keys[count++]) return false;
    if (count !== keys.length) return false;
    let channel: unknown;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = (object as Record<string, unknown>)[key];
      const expected = values[i]!;
      // Each check below implies that `classify` gives this value the expected code (the key is the same).
      switch (expected.code) {
        case 'shape':
          if (!Object.is(value, expected.value)) return false;
          break;
        case 'number':
          if (typeof value !== 'number' || !at(this.numbers, expected.slot, value, NUMBER_SLOTS)) return false;
          break;
        case 'ref':
          if (this.classify(kind, key, value, channel) !== 'ref' || !at(this.refs, expected.slot, value, REF_SLOTS)) return false;
          break;
        case 'object':
          if (typeof value !== 'object' || value === null || Array.isArray(value) || !this.match(value, NESTED[kind][key]!.kind, expected.node)) return false;
          break;
        case 'list': {
          if (!Array.isArray(value) || value.length !== expected.nodes.length) return false;
          for (let j = 0; j < value.length; j++) {
            const item: unknown = value[j];
            if (typeof item !== 'object' || item === null || !this.match(item, NESTED[kind][key]!.kind, expected.nodes[j]!)) return false;
          }
          break;
        }
        case 'empty':
          if (!Array.isArray(value) || value.length !== 0 || Object.getPrototypeOf(value) !== Array.prototype || Object.isFrozen(value) !== expected.frozen) return false;
          break;
        case 'address':
          if (this.classify(kind, key, value, channel) !== 'address') return false;
          break;
      }
      if (kind === 'step' && key === 'channel') channel = value;
      if (kind === 'cascade' && key === 'recipient') this.recipient = value;
    }
    return true;
  }

  /** A new node for the object, its values collected and its shape described; undefined if it cannot be packed. */
  describe(object: object, kind: Kind): Node | undefined {
    if (Object.getPrototypeOf(object) !== Object.prototype) return undefined;
    const keys = Object.keys(object);
    const values: Value[] = [];
    let channel: unknown;
    this.description += '{';
    for (const key of keys) {
      if (key === '__proto__') return undefined;
      const value = (object as Record<string, unknown>)[key];
      this.description += `${JSON.stringify(key)}:`;
      const code = this.classify(kind, key, value, channel);
      let packed: Value;
      if (code === 'list') {
        const items = value as readonly unknown[];
        const nodes: Node[] = [];
        this.description += '[';
        for (let j = 0; j < items.length; j++) {
          const item = items[j];
          const node = typeof item === 'object' && item !== null ? this.describe(item, NESTED[kind][key]!.kind) : undefined;
          if (node === undefined) return undefined;
          nodes.push(node);
        }
        this.description += ']';
        packed = { code, nodes };
      } else if (code === 'object') {
        const node = this.describe(value as object, NESTED[kind][key]!.kind);
        if (node === undefined) return undefined;
        packed = { code, node };
      } else if (code === 'number' || code === 'ref') {
        const list = code === 'number' ? this.numbers : this.refs;
        let slot = list.findIndex((kept) => Object.is(kept, value));
        if (slot === -1) {
          if (list.length === (code === 'number' ? NUMBER_SLOTS : REF_SLOTS)) return undefined;
          slot = list.push(value as never) - 1;
        }
        this.description += `${code[0]}${slot}`;
        packed = { code, slot };
      } else if (code === 'shape') {
        this.description += value === undefined ? 'u' : typeof value === 'string' ? JSON.stringify(value) : Object.is(value, -0) ? '-0' : String(value);
        packed = { code, value };
      } else if (code === 'empty') {
        const frozen = Object.isFrozen(value);
        this.description += frozen ? 'Z' : 'E';
        packed = { code, frozen };
      } else {
        this.description += 'A';
        packed = { code };
      }
      if (kind === 'step' && key === 'channel') channel = value;
      if (kind === 'cascade' && key === 'recipient') this.recipient = value;
      this.description += ',';
      values.push(packed);
    }
    this.description += '}';
    return { keys, values };
  }

  /** The recipient's address for a channel, when the recipient was walked before (so it is rebuilt first). */
  #addressOf(channel: string): unknown {
    const addresses = (this.recipient as { addresses?: unknown } | undefined)?.addresses;
    return typeof addresses === 'object' && addresses !== null && Object.hasOwn(addresses, channel) ? (addresses as Record<string, unknown>)[channel] : undefined;
  }
}

/** Whether `value` belongs at `slot` of the list as `describe` would have put it there (equal values share a slot). */
function at(list: unknown[], slot: number, value: unknown, max: number): boolean {
  if (slot < list.length) return Object.is(list[slot], value);
  if (slot !== list.length || slot === max) return false;
  for (const kept of list) if (Object.is(kept, value)) return false;
  list.push(value);
  return true;
}

/**
 * Packed cascades, each a handle (a small integer) to its slots. The store keeps the handle where it kept
 * the object, so a packed cascade costs no object of its own.
 */
/** The packed cascades with the same number of numbers and references, each in `numbers`/`refs` slots. */
interface Slab {
  readonly index: number;
  readonly numbers: number;
  readonly refs: number;
  // Plain arrays, not typed ones: V8 keeps numbers-only arrays unboxed (8 bytes a number) on its own heap.
  readonly numberSlots: number[];
  readonly refSlots: unknown[];
  readonly shapeOf: number[];
  readonly free: number[];
}

interface Shape {
  readonly root: Node;
  readonly slab: Slab;
}

export class PackedCascades {
  readonly #slabs: Slab[] = [];
  readonly #slabIds = new Map<number, number>();
  readonly #shapes: Shape[] = [];
  readonly #shapeIds = new Map<string, number>();
  readonly #recent: number[] = [];
  readonly #walk = new Walk();

  /** The handle of the cascade packed, or undefined when it cannot be packed (it stays an object). */
  pack(cascade: Cascade): number | undefined {
    const walk = this.#walk;
    let shape = -1;
    // Most cascades have one of a few shapes: the ones matched last are tried first, without describing.
    for (const candidate of this.#recent) {
      walk.reset();
      if (walk.match(cascade, 'cascade', this.#shapes[candidate]!.root)) {
        shape = candidate;
        break;
      }
    }
    if (shape === -1) {
      // Shapes beyond the cap are not described at all: packing would fail anyway, after the costliest part.
      if (this.#shapes.length === MAX_SHAPES) return undefined;
      walk.reset();
      walk.description = '';
      const root = walk.describe(cascade, 'cascade');
      if (root === undefined) return undefined;
      shape = this.#shapeIds.get(walk.description) ?? -1;
      if (shape === -1) {
        shape = this.#shapes.push({ root, slab: this.#slabFor(walk.numbers.length, walk.refs.length) }) - 1;
        this.#shapeIds.set(walk.description, shape);
      }
      const seen = this.#recent.indexOf(shape);
      if (seen !== -1) this.#recent.splice(seen, 1);
      this.#recent.unshift(shape);
      if (this.#recent.length > RECENT_SHAPES) this.#recent.pop();
    }
    const slab = this.#shapes[shape]!.slab;
    let place = slab.free.pop();
    if (place === undefined) {
      place = slab.shapeOf.length;
      if (place === MAX_PLACES) return undefined;
      slab.shapeOf.push(shape);
      for (let i = 0; i < slab.numbers; i++) slab.numberSlots.push(0);
      for (let i = 0; i < slab.refs; i++) slab.refSlots.push(undefined);
    }
    slab.shapeOf[place] = shape;
    const { numbers, refs } = walk;
    for (let i = 0; i < slab.numbers; i++) slab.numberSlots[place * slab.numbers + i] = numbers[i]!;
    for (let i = 0; i < slab.refs; i++) slab.refSlots[place * slab.refs + i] = refs[i];
    return place * SLABS + slab.index;
  }

  unpack(handle: number): Cascade {
    const slab = this.#slabs[handle % SLABS]!;
    const place = Math.floor(handle / SLABS);
    return this.#build(this.#shapes[slab.shapeOf[place]!]!.root, slab, place, undefined, true) as unknown as Cascade;
  }

  /** One top-level field of a packed cascade, without rebuilding it. */
  field<K extends 'version' | 'timerAt' | 'key' | 'status'>(handle: number, key: K): Cascade[K] {
    const slab = this.#slabs[handle % SLABS]!;
    const place = Math.floor(handle / SLABS);
    const root = this.#shapes[slab.shapeOf[place]!]!.root;
    const index = root.keys.indexOf(key);
    return (index === -1 ? undefined : this.#value(root.values[index]!, slab, place, undefined, undefined)) as Cascade[K];
  }

  /** Frees a handle: its cascade was replaced or removed. */
  release(handle: number): void {
    const slab = this.#slabs[handle % SLABS]!;
    const place = Math.floor(handle / SLABS);
    for (let i = 0; i < slab.refs; i++) slab.refSlots[place * slab.refs + i] = undefined;
    slab.free.push(place);
  }

  clear(): void {
    for (const slab of this.#slabs) {
      slab.numberSlots.length = 0;
      slab.refSlots.length = 0;
      slab.shapeOf.length = 0;
      slab.free.length = 0;
    }
  }

  #slabFor(numbers: number, refs: number): Slab {
    const id = numbers * (REF_SLOTS + 1) + refs;
    let index = this.#slabIds.get(id);
    if (index === undefined) {
      index = this.#slabs.push({ index: this.#slabs.length, numbers, refs, numberSlots: [], refSlots: [], shapeOf: [], free: [] }) - 1;
      this.#slabIds.set(id, index);
    }
    return this.#slabs[index]!;
  }

  #build(node: Node, slab: Slab, place: number, recipient: unknown, root = false): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    const { keys, values } = node;
    for (let i = 0; i < keys.length; i++) {
      const value = this.#value(values[i]!, slab, place, recipient, object);
      object[keys[i]!] = value;
      if (root && keys[i] === 'recipient') recipient = value;
    }
    return object;
  }

  #value(value: Value, slab: Slab, place: number, recipient: unknown, object: Record<string, unknown> | undefined): unknown {
    switch (value.code) {
      case 'shape':
        return value.value;
      case 'number':
        return slab.numberSlots[place * slab.numbers + value.slot];
      case 'ref':
        return slab.refSlots[place * slab.refs + value.slot];
      case 'empty':
        return value.frozen ? FROZEN_EMPTY : [];
      case 'address':
        return (recipient as { addresses: Record<string, unknown> }).addresses[object!['channel'] as string];
      case 'object':
        return this.#build(value.node, slab, place, recipient);
      case 'list':
        return value.nodes.map((node) => this.#build(node, slab, place, recipient));
    }
  }
}
