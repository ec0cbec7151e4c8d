// A bounded FIFO for logs that must not grow with the trace (transfers, alerts): pushing past `cap` drops the oldest.
export class Ring<T> {
  private items: T[] = [];
  private head = 0;
  constructor(readonly cap: number) {}
  get length(): number { return this.items.length; }
  /** Returns the item that fell out, if any. */
  push(x: T): T | undefined {
    if (this.items.length < this.cap) { this.items.push(x); return undefined; }
    const old = this.items[this.head];
    this.items[this.head] = x;
    this.head = (this.head + 1) % this.cap;
    return old;
  }
  /** i = 0 is the oldest kept. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.items.length) return undefined;
    return this.items[(this.head + i) % this.items.length];
  }
  last(): T | undefined { return this.at(this.items.length - 1); }
  toArray(): T[] { return this.items.length < this.cap ? this.items.slice() : [...this.items.slice(this.head), ...this.items.slice(0, this.head)]; }
  clone(): Ring<T> { const r = new Ring<T>(this.cap); r.items = this.items.slice(); r.head = this.head; return r; }
}
