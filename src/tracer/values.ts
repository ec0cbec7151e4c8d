// strace argument text -> Value tree. Tolerant: anything it does not know becomes a `sym` span; never throws.
import { Ch, hexDigit, isDigit, isHex, isIdent, readEnd, readUint } from '../model/chars.js';
import { opensDecoration, skipDecoration, skipString } from './scan.js';

export type Value =
  | { t: 'num'; n: number; text: string }
  | { t: 'str'; s: string; trunc: boolean; abstract: boolean }
  | { t: 'fd'; fd: number; decor: string; suffix: string }
  | { t: 'arr'; items: Value[] }
  | { t: 'struct'; fields: Field[] }
  | { t: 'inout'; before: Value; after: Value }
  | { t: 'sym'; text: string };

export interface Field {
  name: string | null;
  value: Value;
}

/**
 * Brackets deeper than this are not built: the rest of such a value becomes one `sym` span (stepped over
 * without recursion). The scanner already rejects lines nested deeper than MAX_NESTING (64) per half, so
 * an entry half joined with its resumed half stays far below this; the cap only keeps the stack bounded.
 */
export const MAX_VALUE_DEPTH = 256;

/**
 * Struct fields nothing reads (decode.ts takes only a msghdr's control data, flags and lengths): left out of
 * the tree. They hold a message's payload (`msg_iov`, `iov_base` strings) and its peer address (`msg_name`).
 */
const UNREAD_FIELDS: ReadonlySet<string> = new Set(['msg_iov', 'msg_name']);

class Parser {
  pos = 0;
  /** brackets open around the value being built */
  private depth = 0;
  constructor(readonly s: string) {}

  skipSpaces(): void {
    while (this.pos < this.s.length && this.s.charCodeAt(this.pos) === Ch.Space) this.pos++;
  }

  list(close: number): Value[] {
    const items: Value[] = [];
    const s = this.s;
    for (;;) {
      this.skipSpaces();
      if (this.pos >= s.length) return items;
      const c = s.charCodeAt(this.pos);
      if (c === close) { this.pos++; return items; }
      if (c === Ch.RParen || c === Ch.RBracket || c === Ch.RBrace) { this.pos++; return items; } // mismatched: stop here
      items.push(this.value());
      this.skipSpaces();
      if (this.pos < s.length && s.charCodeAt(this.pos) === Ch.Comma) this.pos++;
    }
  }

  struct(): Field[] {
    const fields: Field[] = [];
    const s = this.s;
    for (;;) {
      this.skipSpaces();
      if (this.pos >= s.length) return fields;
      const c = s.charCodeAt(this.pos);
      if (c === Ch.RBrace) { this.pos++; return fields; }
      if (c === Ch.RParen || c === Ch.RBracket) { this.pos++; return fields; }
      // name=value, name being an identifier (strace also prints sa_data, msg_hdr, cmsg_data)
      let p = this.pos;
      while (p < s.length && (isIdent(s.charCodeAt(p)) || s.charCodeAt(p) === Ch.Dot)) p++;
      let name: string | null = null;
      if (p > this.pos && p < s.length && s.charCodeAt(p) === Ch.Eq && (p + 1 >= s.length || s.charCodeAt(p + 1) !== Ch.Eq)) {
        name = s.slice(this.pos, p);
        this.pos = p + 1;
        if (UNREAD_FIELDS.has(name)) {
          // a message's data and address are never read: stepped over, not built (a browser's iov strings)
          this.skip();
          this.skipSpaces();
          if (this.pos < s.length && s.charCodeAt(this.pos) === Ch.Comma) this.pos++;
          continue;
        }
      }
      fields.push({ name, value: this.value() });
      this.skipSpaces();
      if (this.pos < s.length && s.charCodeAt(this.pos) === Ch.Comma) this.pos++;
    }
  }

  value(): Value {
    const v = this.single();
    return this.arrow() ? { t: 'inout', before: v, after: this.single() } : v;
  }

  /** In/out values (`110 => 0`, `{...} => {...}`): at ` => `, moves to the after-half and says so. */
  arrow(): boolean {
    const s = this.s;
    let p = this.pos;
    while (p < s.length && s.charCodeAt(p) === Ch.Space) p++;
    if (p + 1 >= s.length || s.charCodeAt(p) !== Ch.Eq || s.charCodeAt(p + 1) !== Ch.Gt) return false;
    this.pos = p + 2;
    this.skipSpaces();
    return true;
  }

  single(): Value {
    const s = this.s;
    this.skipSpaces();
    const c = s.charCodeAt(this.pos);
    if (c === Ch.Quote) return this.string(false);
    if (c === Ch.At && this.pos + 1 < s.length && s.charCodeAt(this.pos + 1) === Ch.Quote) { this.pos++; return this.string(true); }
    if ((c === Ch.LBracket || c === Ch.LBrace) && this.depth < MAX_VALUE_DEPTH) {
      this.pos++;
      this.depth++;
      const v: Value = c === Ch.LBracket ? { t: 'arr', items: this.list(Ch.RBracket) } : { t: 'struct', fields: this.struct() };
      this.depth--;
      return v;
    }
    return this.scalar();
  }

  string(abstract: boolean): Value {
    const s = this.s;
    let p = this.pos + 1;
    const start = p;
    let plain = true;
    // the common string has no escapes: its end is found natively
    const q = s.indexOf('"', start);
    const bs = q < 0 ? -1 : s.indexOf('\\', start);
    if (q >= 0 && (bs < 0 || bs > q)) {
      p = q;
    } else {
      while (p < s.length) {
        const c = s.charCodeAt(p);
        if (c === Ch.Backslash) { plain = false; p += 2; continue; }
        if (c === Ch.Quote) break;
        p++;
      }
    }
    const raw = s.slice(start, p);
    this.pos = p + 1;
    let trunc = false;
    if (s.startsWith('...', this.pos)) { trunc = true; this.pos += 3; }
    return { t: 'str', s: plain ? raw : unescapeC(raw), trunc, abstract };
  }

  /** where span() saw the first fd decoration (-1: none) and where it ends */
  decorAt = -1;
  decorEnd = -1;

  /**
   * Moves to the end of a span: up to the next top-level `,` or closer, over strings, decorations, comments
   * and nested brackets. Allocates nothing.
   */
  span(): void {
    const s = this.s;
    const start = this.pos;
    let p = start;
    this.decorAt = -1;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (c === Ch.Quote) {
        p = skipString(s, p, s.length);
        continue;
      }
      if (c === Ch.Lt && p > start && opensDecoration(s, p)) {
        const q = skipDecoration(s, p);
        if (q < 0) { p = s.length; break; }
        if (this.decorAt < 0) { this.decorAt = p; this.decorEnd = q; }
        p = q;
        continue;
      }
      if (c === Ch.Slash && p + 1 < s.length && s.charCodeAt(p + 1) === Ch.Star) {
        const q = s.indexOf('*/', p + 2);
        p = q < 0 ? s.length : q + 2;
        continue;
      }
      // brackets inside a span are rare in a scalar and common in a skipped struct: their own function, so that
      // neither case deoptimizes the other's compiled code
      if (c === Ch.LParen || c === Ch.LBracket || c === Ch.LBrace) { p = this.nested(p + 1, start); continue; }
      if (c === Ch.RParen || c === Ch.RBracket || c === Ch.RBrace || c === Ch.Comma) break;
      // ` => ` ends the before-half of an in/out value
      if (c === Ch.Space && p + 2 < s.length && s.charCodeAt(p + 1) === Ch.Eq && s.charCodeAt(p + 2) === Ch.Gt) break;
      p++;
    }
    this.pos = p;
  }

  /** span() inside brackets, from just after an opener: the index after its closer (any closer closes any opener). */
  private nested(p: number, start: number): number {
    const s = this.s;
    let depth = 1;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (c === Ch.Quote) {
        p = skipString(s, p, s.length);
        continue;
      }
      if (c === Ch.Lt && p > start && opensDecoration(s, p)) {
        const q = skipDecoration(s, p);
        if (q < 0) return s.length;
        if (this.decorAt < 0) { this.decorAt = p; this.decorEnd = q; }
        p = q;
        continue;
      }
      if (c === Ch.Slash && p + 1 < s.length && s.charCodeAt(p + 1) === Ch.Star) {
        const q = s.indexOf('*/', p + 2);
        p = q < 0 ? s.length : q + 2;
        continue;
      }
      if (c === Ch.LParen || c === Ch.LBracket || c === Ch.LBrace) depth++;
      else if ((c === Ch.RParen || c === Ch.RBracket || c === Ch.RBrace) && --depth === 0) return p + 1;
      p++;
    }
    return s.length;
  }

  /** Top level: at the start of another argument (spaces skipped), or at the end. */
  atArg(): boolean {
    this.skipSpaces();
    return this.pos < this.s.length;
  }

  /** Top level, after the argument that began at `before`: past its comma, or past a stray closer. */
  nextArg(before: number): void {
    this.skipSpaces();
    if (this.pos < this.s.length && this.s.charCodeAt(this.pos) === Ch.Comma) this.pos++;
    else if (this.pos === before) this.pos++;
  }

  /** Steps over one value (in/out pairs included) without building it. */
  skip(): void {
    this.skipSpaces();
    this.span();
    if (this.arrow()) this.span();
  }

  /** Numbers, fds, flag sets, NULL, calls, expressions: a span as one value. */
  scalar(): Value {
    const s = this.s;
    const start = this.pos;
    this.span();
    const { decorAt, decorEnd } = this;
    let end = this.pos;
    while (end > start && s.charCodeAt(end - 1) === Ch.Space) end--;
    const text = s.slice(start, end);
    if (decorAt >= 0) {
      // the fd before its decoration: `3</x>`, `-1<...>`; anything else before it (AT_FDCWD) makes a sym
      const digits = s.charCodeAt(start) === Ch.Minus ? start + 1 : start;
      const fd = readUint(s, digits, decorAt);
      if (readEnd === decorAt && decorAt > digits) {
        return { t: 'fd', fd: digits > start ? -fd : fd, decor: s.slice(decorAt + 1, decorEnd - 1), suffix: s.slice(decorEnd, end) };
      }
    }
    const n = parseNumber(text);
    if (n !== null) return { t: 'num', n, text };
    return { t: 'sym', text };
  }
}

/** Decimal, negative, hex or octal integer text; also `0x1 /* SOL_SOCKET *\/` (-X verbose). */
export function parseNumber(text: string): number | null {
  const c0 = text.charCodeAt(0);
  if (c0 !== Ch.Minus && !isDigit(c0)) return null; // flags, NULL, AT_FDCWD: most scalars are no numbers
  let end = text.length;
  const cm = text.indexOf(' /*');
  if (cm > 0) end = cm;
  if (end === 0) return null;
  let p = 0;
  let neg = false;
  if (c0 === Ch.Minus) { neg = true; p = 1; }
  if (p >= end) return null;
  let n: number;
  // parseInt, not readHex: a value past 2^53 (a 64-bit mask) is rounded once, not at every digit
  if (text.charCodeAt(p) === Ch.D0 && p + 1 < text.length && (text.charCodeAt(p + 1) === Ch.x || text.charCodeAt(p + 1) === Ch.X)) {
    if (p + 2 >= end) return null;
    for (let i = p + 2; i < end; i++) if (!isHex(text.charCodeAt(i))) return null;
    n = parseInt(text.slice(p + 2, end), 16);
  } else {
    for (let i = p; i < end; i++) if (!isDigit(text.charCodeAt(i))) return null;
    n = text.charCodeAt(p) === Ch.D0 && end - p > 1 ? parseInt(text.slice(p, end), 8) : parseInt(text.slice(p, end), 10);
  }
  return neg ? -n : n;
}

/** Undoes strace's C escapes (\n \t \" \\ \ooo \xhh) to bytes, then decodes UTF-8. */
export function unescapeC(raw: string): string {
  const bytes: number[] = [];
  let ascii = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== Ch.Backslash) {
      if (c < 0x80) bytes.push(c);
      else { ascii = false; for (const b of Buffer.from(raw[i]!, 'utf8')) bytes.push(b); }
      continue;
    }
    const e = raw.charCodeAt(++i);
    switch (e) {
      case Ch.n: bytes.push(Ch.LF); break;
      case Ch.t: bytes.push(Ch.Tab); break;
      case Ch.r: bytes.push(Ch.CR); break;
      case Ch.v: bytes.push(Ch.VT); break;
      case Ch.f: bytes.push(Ch.FF); break;
      case Ch.a: bytes.push(Ch.Bell); break;
      case Ch.b: bytes.push(Ch.Backspace); break;
      case Ch.x: {
        let v = 0, k = 0;
        while (k < 2 && isHex(raw.charCodeAt(i + 1))) { v = v * 16 + hexDigit(raw.charCodeAt(i + 1)); i++; k++; }
        bytes.push(v);
        break;
      }
      default:
        if (e >= Ch.D0 && e <= Ch.D7) {
          let v = e - Ch.D0, k = 1;
          while (k < 3 && raw.charCodeAt(i + 1) >= Ch.D0 && raw.charCodeAt(i + 1) <= Ch.D7) { v = v * 8 + (raw.charCodeAt(i + 1) - Ch.D0); i++; k++; }
          bytes.push(v & 0xff);
        } else if (!Number.isNaN(e)) {
          bytes.push(e);
        }
    }
    if (bytes[bytes.length - 1]! >= 0x80) ascii = false;
  }
  // not String.fromCharCode(...bytes): a long string would pass more arguments than the stack holds
  return Buffer.from(bytes).toString(ascii ? 'latin1' : 'utf8');
}

/** Parses a syscall's argument text into its top-level values. */
export function parseArgs(args: string): Value[] {
  const p = new Parser(args);
  const out: Value[] = [];
  while (p.atArg()) {
    const before = p.pos;
    out.push(p.value());
    p.nextArg(before);
  }
  return out;
}

/** The argument at index `i` alone: the ones before it are stepped over, nothing after it is read. */
export function parseArg(args: string, i: number): Value | undefined {
  const p = new Parser(args);
  for (let k = 0; p.atArg(); k++) {
    if (k === i) return p.value();
    const before = p.pos;
    p.skip();
    p.nextArg(before);
  }
  return undefined;
}

/** A syscall's arguments by index: all parsed at once, or one at a time when few are read. */
export type ArgAt = (i: number) => Value | undefined;

// ---- small accessors the correlator uses ----

export function field(v: Value | undefined, name: string): Value | undefined {
  if (!v) return undefined;
  if (v.t === 'inout') return field(v.after, name) ?? field(v.before, name);
  if (v.t !== 'struct') return undefined;
  for (const f of v.fields) if (f.name === name) return f.value;
  return undefined;
}

/** The value a call left behind: the after-half of an in/out pair. */
export function after(v: Value | undefined): Value | undefined {
  return v && v.t === 'inout' ? v.after : v;
}

export function textOf(v: Value | undefined): string {
  if (!v) return '';
  switch (v.t) {
    case 'num': return v.text;
    case 'sym': return v.text;
    case 'str': return v.s;
    case 'fd': return String(v.fd);
    case 'inout': return textOf(v.after);
    default: return '';
  }
}

export function numOf(v: Value | undefined): number | null {
  if (!v) return null;
  if (v.t === 'num') return v.n;
  if (v.t === 'fd') return v.fd;
  if (v.t === 'inout') return numOf(v.after);
  return null;
}

/** The fd number at an argument, with its -y decoration when present. */
export function fdOf(v: Value | undefined): { fd: number; decor: string | null; suffix: string } | null {
  if (!v) return null;
  if (v.t === 'fd') return { fd: v.fd, decor: v.decor, suffix: v.suffix };
  if (v.t === 'num' && Number.isInteger(v.n)) return { fd: v.n, decor: null, suffix: '' };
  return null;
}

/** Cheap: the first argument as an fd, without building a tree. */
export function leadingFd(args: string): number | null {
  const n = readUint(args, 0, args.length);
  return readEnd === 0 ? null : n;
}
