/** A binary min-heap of (time, id) pairs in two parallel arrays: no object per entry. */
export class TimerHeap {
  private readonly ats: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.ats.length;
  }

  peek(): number | undefined {
    return this.ats[0];
  }

  push(at: number, id: string): void {
    let i = this.ats.length;
    this.ats.push(at);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.ats[parent]! <= at) break;
      this.ats[i] = this.ats[parent]!;
      this.ids[i] = this.ids[parent]!;
      i = parent;
    }
    this.ats[i] = at;
    this.ids[i] = id;
  }

  /** Keeps only the entries `keep` accepts, then restores heap order. O(n). */
  retain(keep: (at: number, id: string) => boolean): void {
    let size = 0;
    for (let i = 0; i < this.ats.length; i++) {
      if (!keep(this.ats[i]!, this.ids[i]!)) continue;
      this.ats[size] = this.ats[i]!;
      this.ids[size] = this.ids[i]!;
      size++;
    }
    this.ats.length = size;
    this.ids.length = size;
    // Heap order back in place, bottom up (Floyd): O(n), no entry copied out.
    for (let i = (size >> 1) - 1; i >= 0; i--) this.siftDown(this.ats[i]!, this.ids[i]!, i);
  }

  /** Removes and returns the earliest entry's id and time. */
  pop(): [at: number, id: string] | undefined {
    const size = this.ats.length;
    if (size === 0) return undefined;
    const top: [number, string] = [this.ats[0]!, this.ids[0]!];
    const lastAt = this.ats.pop()!;
    const lastId = this.ids.pop()!;
    if (size > 1) this.siftDown(lastAt, lastId);
    return top;
  }

  /** Puts (at, id) at `from` (its old entry there dropped) and moves it down to its place. */
  private siftDown(at: number, id: string, from = 0): void {
    const size = this.ats.length;
    let i = from;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.ats[child + 1]! < this.ats[child]!) child++;
      if (this.ats[child]! >= at) break;
      this.ats[i] = this.ats[child]!;
      this.ids[i] = this.ids[child]!;
      i = child;
    }
    this.ats[i] = at;
    this.ids[i] = id;
  }
}
