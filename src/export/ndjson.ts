// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdRecord, FdwatchRecord, TransferEnd, TransferRecord } from '../model/records.js';
import { writeAll } from './write-all.js';

export interface RecordWriter {
  write(r: FdwatchRecord): void;
  /** Writes what is buffered; synchronous so it also works from signal handlers and exit hooks. */
  flush(): void;
  close(): void;
  readonly path: string;
  /** the write error that ended this writer (with an onError callback), else null */
  readonly failed: NodeJS.ErrnoException | null;
}

/** Called once, with the error, when a write fails; the writer then drops everything. */
export type WriteErrorHandler = (e: NodeJS.ErrnoException) => void;

/** 256 KB per write: a larger buffer saves no time and is resident memory */
const BUFFER_SIZE = 1 << 18;
/** Bytes a line written in place may take at most: its strings of up to MAX_STR characters, numbers and keys */
const MAX_STR = 2048;
const LINE_ROOM = 10 * (MAX_STR + 8) + 1024;

/**
 * `target` is a file path or '-' for stdout. Without `onError` a write error throws from write/flush/close;
 * with it, the first error goes to `onError` (never thrown: flushes run from timers) and later records are dropped.
 */
export function openNdjson(target: string, onError?: WriteErrorHandler): RecordWriter {
  const fd = target === '-' ? 1 : fs.openSync(target, 'w');
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  let off = 0;
  let closed = false;
  let failed: NodeJS.ErrnoException | null = null;
  const out = (b: Buffer): void => {
    if (failed) return;
    try {
      writeAll(fd, b);
    } catch (e) {
      if (!onError) throw e;
      failed = e as NodeJS.ErrnoException;
      onError(failed);
    }
  };
  const flush = (): void => {
    if (off === 0) return;
    const n = off;
    off = 0;
    out(buf.subarray(0, n));
  };
  return {
    path: target,
    get failed() { return failed; },
    write(r) {
      if (closed || failed) return;
      // the commonest records, written byte by byte into the buffer (no string made: a line built by concatenation
      // is a rope of dozens of strings, then flattened to be written): printable ASCII, which is its own UTF-8
      if (r.type === 'fd' || r.type === 'transfer') {
        if (off + LINE_ROOM > BUFFER_SIZE) flush();
        B = buf;
        O = off;
        bad = false;
        if ((r.type === 'fd' ? fdBytes(r) : transferBytes(r)) && !bad) {
          buf[O++] = 10;
          off = O;
          return;
        }
      }
      // any other shape, or one with a string to escape, UTF-8 or longer than MAX_STR: the generic way
      const line = JSON.stringify(r);
      const room = 3 * line.length + 1;
      if (off + room > BUFFER_SIZE) flush();
      if (room > BUFFER_SIZE) { out(Buffer.from(line + '\n', 'utf8')); return; }
      off += buf.write(line, off, 'utf8');
      buf[off++] = 10;
    },
    flush,
    close() {
      if (closed) return;
      flush();
      closed = true;
      if (fd !== 1) {
        try { fs.closeSync(fd); } catch (e) {
          // NFS and full file systems may report a lost write only at close
          if (!onError) throw e;
          if (!failed) { failed = e as NodeJS.ErrnoException; onError(failed); }
        }
      }
    },
  };
}

/** JSON.stringify(n)'s text for a number or null, without JSON.stringify's setup (several times the cost of the
 * conversion itself, which is Number::toString's for a finite number) */
function jsonNumber(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : '' + n;
}

/** Epoch seconds from 2004 to 2242, [2^30, 2^33): a double there is a multiple of 2^-22, 2^-21 or 2^-20 */
const STAMP_LO = 2 ** 30;
const STAMP_HI = 2 ** 33;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7];
/** the last stamp's fraction, as stampFraction found it: the records of one syscall share their stamp */
let lastFracOf = NaN;
let lastFrac = 0;
let lastFracDigits = 0;

/**
 * The fractional digits of Number::toString(n) (JSON.stringify's text: the shortest decimal that reads back as n, the
 * nearest of those, a tie to the even digit as V8's bignum dtoa) for n in [2^30, 2^33): as the integer q of k digits
 * (n's text is its integer part, then `.` and q zero-padded to k digits; k 0: none). Exact integer arithmetic: n is
 * m / 2^F (F 22, 21, 20 in the three binades), its fraction f / 2^F with f < 2^22, and a k-digit fraction q / 10^k
 * reads back as n when |q 2^F - f 10^k| < 10^k / 2 (below 2^53 for k <= 9: exact; never equal for k < F). Returns
 * false when neither 6 nor 7 digits do (never, for these n: k = 7 always does).
 */
function stampFraction(n: number): boolean {
  if (n === lastFracOf) return true;
  const scale = n < 2147483648 ? 4194304 : n < 4294967296 ? 2097152 : 1048576;
  const f = (n - Math.floor(n)) * scale;
  if (f === 0) { lastFracOf = n; lastFrac = 0; lastFracDigits = 0; return true; }
  // 6 digits first (a stamp of the kernel's µs and ns): 10^-6 apart, wider than n's interval (2^-F at most 2^-20),
  // at most one 6-digit fraction reads back as n, and any shorter one is it without its trailing zeros; none: 7 digits
  // (10^-7 apart: one always does), the nearest
  for (let k = 6; k <= 7; k++) {
    const p = POW10[k]!;
    // the nearest k-digit fraction; halfway, the even one
    const t = f * p;
    let q = Math.floor(t / scale);
    let rem = t - q * scale;
    if (2 * rem > scale || (2 * rem === scale && (q & 1) === 1)) { q++; rem -= scale; }
    if (!(2 * Math.abs(rem) < p) || q <= 0 || q >= p) continue;
    let digits = k;
    let v = q | 0;
    while (digits > 1 && v % 10 === 0) { v = (v / 10) | 0; digits--; }
    lastFracOf = n; lastFrac = v; lastFracDigits = digits;
    return true;
  }
  // not reached for these n (7 digits always read back): the caller writes Number::toString's text
  return false;
}

/** A transfer's keys in the order its builders write them (the optional ones may be absent). */
const TRANSFER_KEYS: readonly string[] = ['v', 'type', 'ts', 'via', 'state', 'from', 'to', 'target', 'kind', 'sentTs', 'receivedTs', 'reason', 'line', 'confirmed', 'origin'];
const END_KEYS: readonly string[] = ['pid', 'tid', 'comm', 'uid', 'fd', 'socket'];

/** The object's own keys come in `keys`' order, some of them left out (for..in: no array made). */
function keysInOrder(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) {
    while (i < keys.length && keys[i] !== k) i++;
    if (i === keys.length) return false;
    i++;
  }
  return true;
}

// ------------------------------------------------------------------ lines written in place
// JSON.stringify(r)'s exact bytes for the commonest records (fd, transfer), stored into the writer's buffer B from O
// on; `bad`: a string that is not printable ASCII (or longer than MAX_STR) or a value of another type came: the line
// goes the generic way (the caller rewinds to where it began).
let B: Buffer = Buffer.alloc(0);
let O = 0;
let bad = false;

/** A text known to be printable ASCII (keys, numbers' text, the record's own enums). */
function ascii(s: string): void {
  const b = B;
  let o = O;
  for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
  O = o;
}

/** A string as JSON, or null. */
function qstr(s: string | null | undefined): void {
  if (s === null) { ascii('null'); return; }
  if (typeof s !== 'string' || s.length > MAX_STR) { bad = true; return; }
  const b = B;
  let o = O;
  b[o++] = 34;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) { bad = true; return; }
    b[o++] = c;
  }
  b[o++] = 34;
  O = o;
}

/** A number or null as num() (../model/json.ts) writes it. */
function numb(n: number | null | undefined): void {
  if (n === null) { ascii('null'); return; }
  if (typeof n !== 'number') { bad = true; return; }
  if (!Number.isSafeInteger(n)) { ascii(jsonNumber(n)); return; }
  const b = B;
  let v: number = n;
  if (v < 0) { b[O++] = 45; v = -v; }
  if (v < 10) { b[O++] = 48 + v; return; }
  let d = 1;
  for (let p = 10; p <= v; p *= 10) d++;
  for (let k = O + d - 1; k >= O; k--) {
    const r: number = v % 10;
    b[k] = 48 + r;
    v = (v - r) / 10;
  }
  O += d;
}

/** the integer part of the last stamp written, and its text: a second of stamps shares it */
let stampSecs = NaN;
let stampSecsText = '';

/** A time or null: an epoch stamp digit by digit (a double's shortest text through Number::toString costs more than
 * the rest of a line's numbers), any other number as JSON.stringify writes it. The digits are int32 arithmetic (a
 * double's % is a call). */
function tsb(n: number | null | undefined): void {
  if (n === null) { ascii('null'); return; }
  if (typeof n !== 'number') { bad = true; return; }
  if (!(n >= STAMP_LO && n < STAMP_HI) || !stampFraction(n)) { ascii(jsonNumber(n)); return; }
  const secs = Math.floor(n);
  if (secs !== stampSecs) { stampSecs = secs; stampSecsText = '' + secs; }
  ascii(stampSecsText);
  const k = lastFracDigits;
  if (k === 0) return;
  const b = B;
  const o = O;
  b[o] = 46;
  let q = lastFrac | 0;
  for (let i = o + k; i > o; i--) {
    const d = (q / 10) | 0;
    b[i] = 48 + q - d * 10;
    q = d;
  }
  O = o + k + 1;
}

/** The text tsb writes for `n` (tests compare it with JSON.stringify's). */
export function stampText(n: number | null): string {
  return inScratch(() => { tsb(n); return true; }) ?? 'bad';
}

/** An fd record's line, in place; false for a shape it does not write (a snapshot's extra fields). */
function fdBytes(r: FdRecord): boolean {
  if (r.pos !== undefined || r.flags !== undefined || r.ofd !== undefined || r.socket !== undefined || r.inFlight !== undefined || r.was !== undefined) return false;
  ascii('{"v":'); numb(r.v);
  ascii(',"type":"fd","ts":'); tsb(r.ts);
  ascii(',"pid":'); numb(r.pid);
  ascii(',"fd":'); numb(r.fd);
  ascii(',"op":"'); ascii(r.op);
  ascii('","target":'); qstr(r.target);
  ascii(',"kind":"'); ascii(r.kind);
  ascii('","cloexec":'); ascii(r.cloexec === null ? 'null' : r.cloexec ? 'true' : 'false');
  ascii(',"syscall":'); qstr(r.syscall);
  if (r.tid !== undefined) { ascii(',"tid":'); numb(r.tid); }
  if (r.fromFd !== undefined) { ascii(',"fromFd":'); numb(r.fromFd); }
  if (r.fromPid !== undefined) { ascii(',"fromPid":'); numb(r.fromPid); }
  if (r.origin !== undefined) { ascii(',"origin":'); qstr(r.origin); }
  B[O++] = 125;
  return true;
}

function endBytes(e: TransferEnd | null): void {
  if (e === null) { ascii('null'); return; }
  if (!keysInOrder(e, END_KEYS) || e.pid === undefined || e.tid === undefined || e.uid === undefined || e.fd === undefined || e.comm === undefined || e.socket === undefined) { bad = true; return; }
  ascii('{"pid":'); numb(e.pid);
  ascii(',"tid":'); numb(e.tid);
  ascii(',"comm":'); qstr(e.comm);
  ascii(',"uid":'); numb(e.uid);
  ascii(',"fd":'); numb(e.fd);
  ascii(',"socket":'); qstr(e.socket);
  B[O++] = 125;
}

/** A transfer's line, in place; false when its keys are not in the correlator's order or a field is missing. */
function transferBytes(r: TransferRecord): boolean {
  if (!keysInOrder(r, TRANSFER_KEYS) || r.ts === undefined || r.sentTs === undefined || r.receivedTs === undefined || r.from === undefined || r.to === undefined) return false;
  ascii('{"v":'); numb(r.v);
  ascii(',"type":"transfer","ts":'); tsb(r.ts);
  ascii(',"via":"'); ascii(r.via);
  ascii('","state":"'); ascii(r.state);
  ascii('","from":'); endBytes(r.from);
  ascii(',"to":'); endBytes(r.to);
  ascii(',"target":'); qstr(r.target);
  ascii(',"kind":"'); ascii(r.kind);
  ascii('","sentTs":'); tsb(r.sentTs);
  ascii(',"receivedTs":'); tsb(r.receivedTs);
  if (r.reason !== undefined) { ascii(',"reason":'); qstr(r.reason); }
  if (r.line !== undefined) { ascii(',"line":'); numb(r.line); }
  if (r.confirmed !== undefined) { ascii(',"confirmed":'); ascii(r.confirmed === null ? 'null' : r.confirmed ? 'true' : 'false'); }
  if (r.origin !== undefined) { ascii(',"origin":'); qstr(r.origin); }
  B[O++] = 125;
  return true;
}

/** The writer's text of one record, or null where it goes the generic way (JSON.stringify): what tests compare. */
const scratch = Buffer.alloc(LINE_ROOM);
function inScratch(write: () => boolean): string | null {
  B = scratch;
  O = 0;
  bad = false;
  return write() && !bad ? scratch.toString('latin1', 0, O) : null;
}

/** JSON.stringify(r)'s exact text as the writer stores it for an fd record, or null (the generic path). */
export function fdLine(r: FdRecord): string | null {
  return inScratch(() => fdBytes(r));
}

/** JSON.stringify(r)'s exact text as the writer stores it for a transfer, or null (the generic path). */
export function transferLine(r: TransferRecord): string | null {
  return inScratch(() => transferBytes(r));
}
