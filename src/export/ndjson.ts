// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdRecord, FdwatchRecord, TransferEnd, TransferRecord } from '../model/records.js';
import { num, plainQuoted } from '../model/json.js';
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

/** Buffer's own latin1 writer (node's, under buf.write): buf.write's checks of its arguments and its encoding lookup
 * cost as much as the copy of a short line */
type Latin1Writer = { latin1Write?: (s: string, offset: number) => number };
const nodeLatin1 = (Buffer.prototype as unknown as Latin1Writer).latin1Write;
const latin1Write = nodeLatin1 !== undefined
  ? (b: Buffer, s: string, off: number): number => (b as unknown as Required<Latin1Writer>).latin1Write(s, off)
  : (b: Buffer, s: string, off: number): number => b.write(s, off, 'latin1');

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
      // the commonest record is printable ASCII, and ASCII is its own UTF-8: a latin1 write is a plain byte
      // copy, several times cheaper than encoding UTF-8
      const fast = r.type === 'fd' ? fdLine(r) : r.type === 'transfer' ? transferLine(r) : null;
      const line = fast ?? JSON.stringify(r);
      const room = (fast !== null ? line.length : 3 * line.length) + 1;
      if (off + room > BUFFER_SIZE) flush();
      if (room > BUFFER_SIZE) { out(Buffer.from(line + '\n', 'utf8')); return; }
      off += fast !== null ? latin1Write(buf, line, off) : buf.write(line, off, 'utf8');
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

// the records of one syscall share a stamp (a receive's fd record and its transfer, a transfer's ts and receivedTs):
// the two latest are formatted once (a double's shortest text costs more than the rest of a line's numbers)
let lastTs: number | null = null;
let lastTsText = 'null';
let prevTs: number | null = null;
let prevTsText = 'null';

/** JSON.stringify(n)'s text for a number or null, without JSON.stringify's setup (several times the cost of the
 * conversion itself, which is Number::toString's for a finite number) */
function jsonNumber(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : '' + n;
}

function tsText(ts: number | null): string {
  if (ts === lastTs) return lastTsText;
  if (ts === prevTs) return prevTsText;
  prevTs = lastTs;
  prevTsText = lastTsText;
  lastTs = ts;
  lastTsText = jsonNumber(ts);
  return lastTsText;
}

/**
 * JSON.stringify(r)'s exact text, written by hand for the commonest record when it is printable ASCII;
 * null when it needs the generic path: a snapshot's extra fields, or a string to escape or encode as UTF-8.
 */
export function fdLine(r: FdRecord): string | null {
  if (r.pos !== undefined || r.flags !== undefined || r.ofd !== undefined || r.socket !== undefined || r.inFlight !== undefined || r.was !== undefined) return null;
  const target = quoted(r.target);
  const syscall = quoted(r.syscall);
  if (target === undefined || syscall === undefined) return null;
  let s = '{"v":' + r.v + ',"type":"fd","ts":' + tsText(r.ts) + ',"pid":' + num(r.pid) + ',"fd":' + num(r.fd) +
    ',"op":"' + r.op + '","target":' + target + ',"kind":"' + r.kind + '","cloexec":' + r.cloexec + ',"syscall":' + syscall;
  if (r.tid !== undefined) s += ',"tid":' + num(r.tid);
  if (r.fromFd !== undefined) s += ',"fromFd":' + num(r.fromFd);
  if (r.fromPid !== undefined) s += ',"fromPid":' + num(r.fromPid);
  if (r.origin !== undefined) { const o = quoted(r.origin); if (o === undefined) return null; s += ',"origin":' + o; }
  return s + '}';
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

/** Strings quoted lately (a pass of one fd: its target, syscalls, origin, sockets and comms come again in the next
 * records): printable ASCII or null */
const QUOTED = 16;
const quotedFrom: Array<string | null> = new Array<string | null>(QUOTED).fill(null);
const quotedText: Array<string | null> = new Array<string | null>(QUOTED).fill(null);
let quotedNext = 0;

/** A string or null as JSON text when it is printable ASCII (or null); undefined otherwise. */
function quoted(s: string | null): string | null | undefined {
  if (s === null) return 'null';
  for (let i = 0; i < QUOTED; i++) if (quotedFrom[i] === s) return quotedText[i]!;
  const q = plainQuoted(s);
  if (q === null) return undefined;
  quotedFrom[quotedNext] = s;
  quotedText[quotedNext] = q;
  quotedNext = (quotedNext + 1) % QUOTED;
  return q;
}

function endText(e: TransferEnd | null): string | null {
  if (e === null) return 'null';
  if (!keysInOrder(e, END_KEYS) || e.pid === undefined || e.tid === undefined || e.uid === undefined || e.fd === undefined) return null;
  const comm = quoted(e.comm);
  const socket = quoted(e.socket);
  if (comm === undefined || socket === undefined) return null;
  return '{"pid":' + num(e.pid) + ',"tid":' + num(e.tid) + ',"comm":' + comm + ',"uid":' + num(e.uid) + ',"fd":' + num(e.fd) + ',"socket":' + socket + '}';
}

/**
 * JSON.stringify(r)'s exact text for a transfer, written by hand (JSON.stringify's generic walk costs several times
 * more) when its keys come in the order the correlator writes them and every string is printable ASCII; null
 * otherwise (the generic path).
 */
export function transferLine(r: TransferRecord): string | null {
  if (!keysInOrder(r, TRANSFER_KEYS) || r.ts === undefined || r.sentTs === undefined || r.receivedTs === undefined || r.from === undefined || r.to === undefined) return null;
  const from = endText(r.from);
  const to = endText(r.to);
  const target = quoted(r.target);
  const reason = r.reason === undefined ? null : quoted(r.reason);
  const origin = r.origin === undefined ? null : quoted(r.origin);
  if (from === null || to === null || target === undefined || reason === undefined || origin === undefined) return null;
  let s = '{"v":' + num(r.v) + ',"type":"transfer","ts":' + tsText(r.ts) + ',"via":"' + r.via + '","state":"' + r.state + '","from":' + from +
    ',"to":' + to + ',"target":' + target + ',"kind":"' + r.kind + '","sentTs":' + tsText(r.sentTs) + ',"receivedTs":' + tsText(r.receivedTs);
  if (reason !== null) s += ',"reason":' + reason;
  if (r.line !== undefined) s += ',"line":' + num(r.line);
  if (r.confirmed !== undefined) s += ',"confirmed":' + r.confirmed;
  if (origin !== null) s += ',"origin":' + origin;
  return s + '}';
}

// ------------------------------------------------------------------ lines written in place
// The bytes of fdLine's and transferLine's text, stored into the writer's buffer B from O on; `bad`: a string that
// is not printable ASCII (or longer than MAX_STR) or a value of another type came: the line goes the generic way (the
// caller rewinds to where it began).
let B: Buffer = Buffer.alloc(0);
let O = 0;
let bad = false;

/** A text known to be printable ASCII (keys, numbers' text, the record's own enums as fdLine writes them). */
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

/** A time or null (the latest ones formatted once). */
function tsb(n: number | null | undefined): void {
  if (n !== null && typeof n !== 'number') { bad = true; return; }
  ascii(tsText(n));
}

/** fdLine's text, in place; false where fdLine gives null. */
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

/** transferLine's text, in place; false where transferLine gives null. */
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
