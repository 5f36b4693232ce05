import type { Cascade } from '../core/types.js';

/**
 * A compact form for the cascades the memory store has not touched for a while: most of an open cascade
 * (its plan, steps, attempt, history) is the same from one cascade to the next but for a few ids and times,
 * and as objects it takes about a kilobyte (a field is 8 bytes, a time 16 more in its own box).
 *
 * A cascade is split into its shape (every key in order, and every value but the per-cascade ones), interned
 * once for all cascades alike, and its own values: strings and objects (id, message, recipient, provider
 * ids) in one shared list, numbers (times, version, spend) in another, a fixed number of
 * slots of each per cascade, equal values stored once. Unpacking builds the same keys in the same order with
 * the same values; anything the walk does not recognize (another prototype, too many values, a shape beyond
 * the cap) is simply not packed and stays an object.
 */

/** Keys whose numbers differ per cascade (stored as values); any other number is part of the shape. */
const NUMBERS: Readonly<Record<Kind, ReadonlySet<string>>> = {
  cascade: new Set(['createdAt', 'updatedAt', 'endedAt', 'timerAt', 'version', 'spendMicros', 'doubleSpendMicros']),
  plan: new Set(['createdAt', 'startAt', 'deadlineAt', 'maxSpendMicros', 'bestSpendMicros']),
  step: new Set(['startAt', 'costMicros']),
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

export const NUMBER_SLOTS = 8;
export const REF_SLOTS = 6;
const MAX_SHAPES = 4096;
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

/** Collects one cascade's values and the description of its shape while it is walked. */
class Walk {
  readonly numbers: number[] = [];
  readonly refs: unknown[] = [];
  description = '';
  recipient: unknown;

  number(value: number): Value | undefined {
    let slot = this.numbers.findIndex((n) => Object.is(n, value));
    if (slot === -1) {
      if (this.numbers.length === NUMBER_SLOTS) return undefined;
      slot = this.numbers.push(value) - 1;
    }
    this.description += `n${slot}`;
    return { code: 'number', slot };
  }

  ref(value: unknown): Value | undefined {
    let slot = this.refs.indexOf(value);
    if (slot === -1) {
      if (this.refs.length === REF_SLOTS) return undefined;
      slot = this.refs.push(value) - 1;
    }
    this.description += `r${slot}`;
    return { code: 'ref', slot };
  }

  node(object: object, kind: Kind): Node | undefined {
    if (Object.getPrototypeOf(object) !== Object.prototype) return undefined;
    const keys = Object.keys(object);
    const values: Value[] = [];
    let channel: unknown;
    this.description += '{';
    for (const key of keys) {
      if (key === '__proto__') return undefined;
      const value = (object as Record<string, unknown>)[key];
      this.description += `${JSON.stringify(key)}:`;
      const nested = NESTED[kind][key];
      let packed: Value | undefined;
      if (nested !== undefined && nested.list && Array.isArray(value) && value.length > 0) {
        const nodes: Node[] = [];
        this.description += '[';
        for (const item of value) {
          const node = typeof item === 'object' && item !== null ? this.node(item, nested.kind) : undefined;
          if (node === undefined) return undefined;
          nodes.push(node);
        }
        this.description += ']';
        if (nodes.length !== value.length) return undefined; // holes
        packed = { code: 'list', nodes };
      } else if (nested !== undefined && !nested.list && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const node = this.node(value, nested.kind);
        if (node === undefined) return undefined;
        packed = { code: 'object', node };
      } else if (kind === 'step' && key === 'address' && typeof value === 'string' && typeof channel === 'string' && this.addressOf(channel) === value) {
        this.description += 'A';
        packed = { code: 'address' };
      } else if (typeof value === 'number' && NUMBERS[kind].has(key)) {
        packed = this.number(value);
      } else if (typeof value === 'string' && !STRINGS[kind].has(key)) {
        this.description += JSON.stringify(value);
        packed = { code: 'shape', value };
      } else if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
        this.description += value === undefined ? 'u' : String(value);
        packed = { code: 'shape', value };
      } else if (Array.isArray(value) && value.length === 0 && Object.getPrototypeOf(value) === Array.prototype) {
        const frozen = Object.isFrozen(value);
        this.description += frozen ? 'Z' : 'E';
        packed = { code: 'empty', frozen };
      } else {
        packed = this.ref(value);
      }
      if (packed === undefined) return undefined;
      if (kind === 'step' && key === 'channel') channel = value;
      if (kind === 'cascade' && key === 'recipient') this.recipient = value;
      this.description += ',';
      values.push(packed);
    }
    this.description += '}';
    return { keys, values };
  }

  /** The recipient's address for a channel, when the recipient was walked before (so it is rebuilt first). */
  private addressOf(channel: string): unknown {
    const addresses = (this.recipient as { addresses?: unknown } | undefined)?.addresses;
    return typeof addresses === 'object' && addresses !== null && Object.hasOwn(addresses, channel) ? (addresses as Record<string, unknown>)[channel] : undefined;
  }
}

/**
 * Packed cascades, each a handle (a small integer) to its slots. The store keeps the handle where it kept
 * the object, so a packed cascade costs no object of its own.
 */
export class PackedCascades {
  // Plain arrays, not typed ones: V8 keeps numbers-only arrays unboxed (8 bytes a number) on its own heap.
  readonly #numbers: number[] = [];
  readonly #refs: unknown[] = [];
  readonly #shapeOf: number[] = [];
  readonly #free: number[] = [];
  readonly #shapes: Node[] = [];
  readonly #shapeIds = new Map<string, number>();

  /** The handle of the cascade packed, or undefined when it cannot be packed (it stays an object). */
  pack(cascade: Cascade): number | undefined {
    const walk = new Walk();
    const root = walk.node(cascade, 'cascade');
    if (root === undefined) return undefined;
    let shape = this.#shapeIds.get(walk.description);
    if (shape === undefined) {
      if (this.#shapes.length === MAX_SHAPES) return undefined;
      shape = this.#shapes.push(root) - 1;
      this.#shapeIds.set(walk.description, shape);
    }
    let handle = this.#free.pop();
    if (handle === undefined) {
      handle = this.#shapeOf.length;
      this.#shapeOf.push(shape);
      for (let i = 0; i < NUMBER_SLOTS; i++) this.#numbers.push(0);
      for (let i = 0; i < REF_SLOTS; i++) this.#refs.push(undefined);
    }
    this.#shapeOf[handle] = shape;
    const { numbers, refs } = walk;
    for (let i = 0; i < numbers.length; i++) this.#numbers[handle * NUMBER_SLOTS + i] = numbers[i]!;
    for (let i = 0; i < REF_SLOTS; i++) this.#refs[handle * REF_SLOTS + i] = refs[i];
    return handle;
  }

  unpack(handle: number): Cascade {
    return this.#build(this.#shapes[this.#shapeOf[handle]!]!, handle, undefined, true) as unknown as Cascade;
  }

  /** One top-level field of a packed cascade, without rebuilding it. */
  field<K extends 'version' | 'timerAt' | 'key' | 'status'>(handle: number, key: K): Cascade[K] {
    const root = this.#shapes[this.#shapeOf[handle]!]!;
    const index = root.keys.indexOf(key);
    return (index === -1 ? undefined : this.#value(root.values[index]!, handle, undefined, undefined)) as Cascade[K];
  }

  /** Frees a handle: its cascade was replaced or removed. */
  release(handle: number): void {
    for (let i = 0; i < REF_SLOTS; i++) this.#refs[handle * REF_SLOTS + i] = undefined;
    this.#free.push(handle);
  }

  clear(): void {
    this.#numbers.length = 0;
    this.#refs.length = 0;
    this.#shapeOf.length = 0;
    this.#free.length = 0;
  }

  #build(node: Node, handle: number, recipient: unknown, root = false): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    const { keys, values } = node;
    for (let i = 0; i < keys.length; i++) {
      const value = this.#value(values[i]!, handle, recipient, object);
      object[keys[i]!] = value;
      if (root && keys[i] === 'recipient') recipient = value;
    }
    return object;
  }

  #value(value: Value, handle: number, recipient: unknown, object: Record<string, unknown> | undefined): unknown {
    switch (value.code) {
      case 'shape':
        return value.value;
      case 'number':
        return this.#numbers[handle * NUMBER_SLOTS + value.slot];
      case 'ref':
        return this.#refs[handle * REF_SLOTS + value.slot];
      case 'empty':
        return value.frozen ? FROZEN_EMPTY : [];
      case 'address':
        return (recipient as { addresses: Record<string, unknown> }).addresses[object!['channel'] as string];
      case 'object':
        return this.#build(value.node, handle, recipient);
      case 'list':
        return value.nodes.map((node) => this.#build(node, handle, recipient));
    }
  }
}
