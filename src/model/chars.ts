// The character codes of the text fdwatch reads (strace output: prefixes, arguments, decorations, flag sets)
// and the digit readers over them. A const enum: tsc writes each number in place, in every importing module too
// (the emitted JS reads `47 /* Ch.Slash */`), so a name costs nothing at run time.

export const enum Ch {
  Bell = 7, Backspace = 8, Tab = 9, LF = 10, VT = 11, FF = 12, CR = 13, Space = 32, Quote = 34,
  LParen = 40, RParen = 41, Star = 42, Plus = 43, Comma = 44, Minus = 45, Dot = 46, Slash = 47,
  D0 = 48, D7 = 55, D9 = 57, Colon = 58, Lt = 60, Eq = 61, Gt = 62, Question = 63, At = 64,
  A = 65, D = 68, E = 69, X = 88, Z = 90, LBracket = 91, Backslash = 92, RBracket = 93, Underscore = 95,
  a = 97, b = 98, d = 100, e = 101, f = 102, m = 109, n = 110, r = 114, s = 115, t = 116, u = 117, v = 118,
  x = 120, z = 122, LBrace = 123, Pipe = 124, RBrace = 125,
}

export function isDigit(c: number): boolean { return c >= Ch.D0 && c <= Ch.D9; }

/** A character of a C identifier (syscall, signal, errno and field names). */
export function isIdent(c: number): boolean {
  return (c >= Ch.a && c <= Ch.z) || (c >= Ch.A && c <= Ch.Z) || (c >= Ch.D0 && c <= Ch.D9) || c === Ch.Underscore;
}

/** The value of the hex digit `c` (either case), or -1. */
export function hexDigit(c: number): number {
  if (c >= Ch.D0 && c <= Ch.D9) return c - Ch.D0;
  const l = c | 0x20; // ASCII lower case
  return l >= Ch.a && l <= Ch.f ? l - Ch.a + 10 : -1;
}

export function isHex(c: number): boolean { return hexDigit(c) >= 0; }

/**
 * Where the last readUint, readHex, readFraction or readUintBytes stopped: the index just past its digits,
 * its start when there were none. One variable, as a hand-written scanner keeps its `pos`: the hot path
 * reads numbers without allocating a result.
 */
export let readEnd = 0;

/** The decimal digits of s[p, end) from `p` as a number (0 when there are none: then readEnd === p). */
export function readUint(s: string, p: number, end: number): number {
  let n = 0;
  for (; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c < Ch.D0 || c > Ch.D9) break;
    n = n * 10 + (c - Ch.D0);
  }
  readEnd = p;
  return n;
}

/** readUint over raw bytes (a line not yet decoded). */
export function readUintBytes(s: Uint8Array, p: number, end: number): number {
  let n = 0;
  for (; p < end; p++) {
    const c = s[p]!;
    if (c < Ch.D0 || c > Ch.D9) break;
    n = n * 10 + (c - Ch.D0);
  }
  readEnd = p;
  return n;
}

/** The hex digits of s[p, end) (after a `0x`): exact below 2^53 (past it each digit rounds; parseInt rounds once). */
export function readHex(s: string, p: number, end: number): number {
  let n = 0;
  for (; p < end; p++) {
    const d = hexDigit(s.charCodeAt(p));
    if (d < 0) break;
    n = n * 16 + d;
  }
  readEnd = p;
  return n;
}

/** Digits past this add nothing a double can hold (and would take the scale past 1e308). */
const FRACTION_DIGITS = 15;

/** The digits of s[p, end) after a decimal point, as a fraction: `0001` is 0.0001. Reads them all. */
export function readFraction(s: string, p: number, end: number): number {
  let frac = 0;
  let scale = 1;
  for (let k = 0; p < end; p++, k++) {
    const c = s.charCodeAt(p);
    if (c < Ch.D0 || c > Ch.D9) break;
    if (k < FRACTION_DIGITS) { frac = frac * 10 + (c - Ch.D0); scale *= 10; }
  }
  readEnd = p;
  return frac / scale;
}
