// Arrays on the per-event paths (the eBPF parser's groups, the correlator's queued messages): most hold one or two
// elements, and a push into an empty array allocates room for 17 and more.

/** An empty array shared by every holder until its first element: never written to (`appended` makes an array). */
export const NONE = Object.freeze([]) as unknown as never[];

/** `a` with `x` at its end; an empty or one-element `a` is made anew with it (a shared NONE is never pushed to). */
export function appended<T>(a: T[], x: T): T[] {
  if (a.length === 0) return [x];
  if (a.length === 1) return [a[0]!, x];
  a.push(x);
  return a;
}
