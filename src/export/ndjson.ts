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

function tsText(ts: number | null): string {
  if (ts === lastTs) return lastTsText;
  if (ts === prevTs) return prevTsText;
  prevTs = lastTs;
  prevTsText = lastTsText;
  lastTs = ts;
  lastTsText = JSON.stringify(ts);
  return lastTsText;
}

/**
 * JSON.stringify(r)'s exact text, written by hand for the commonest record when it is printable ASCII;
 * null when it needs the generic path: a snapshot's extra fields, or a string to escape or encode as UTF-8.
 */
export function fdLine(r: FdRecord): string | null {
  if (r.pos !== undefined || r.flags !== undefined || r.ofd !== undefined || r.socket !== undefined || r.inFlight !== undefined || r.was !== undefined) return null;
  const target = r.target === null ? 'null' : plainQuoted(r.target);
  const syscall = r.syscall === null ? 'null' : plainQuoted(r.syscall);
  if (target === null || syscall === null) return null;
  let s = '{"v":' + r.v + ',"type":"fd","ts":' + tsText(r.ts) + ',"pid":' + num(r.pid) + ',"fd":' + num(r.fd) +
    ',"op":"' + r.op + '","target":' + target + ',"kind":"' + r.kind + '","cloexec":' + r.cloexec + ',"syscall":' + syscall;
  if (r.tid !== undefined) s += ',"tid":' + num(r.tid);
  if (r.fromFd !== undefined) s += ',"fromFd":' + num(r.fromFd);
  if (r.fromPid !== undefined) s += ',"fromPid":' + num(r.fromPid);
  if (r.origin !== undefined) { const o = plainQuoted(r.origin); if (o === null) return null; s += ',"origin":' + o; }
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

/** `,"key":` and a number or null as JSON.stringify prints it, '' for undefined (JSON.stringify leaves the key out),
 * null for anything else. */
function numField(key: string, n: unknown): string | null {
  if (n === undefined) return '';
  if (n === null) return ',"' + key + '":null';
  if (typeof n !== 'number') return null;
  return ',"' + key + '":' + (Number.isSafeInteger(n) ? '' + n : JSON.stringify(n));
}

/** The same for a time (the latest ones formatted once). */
function tsField(key: string, n: unknown): string | null {
  if (n === undefined) return '';
  if (n !== null && typeof n !== 'number') return null;
  return ',"' + key + '":' + tsText(n);
}

/** The same for a string: printable ASCII only (else null: the generic path escapes and encodes it). */
function strField(key: string, s: unknown): string | null {
  if (s === undefined) return '';
  if (s === null) return ',"' + key + '":null';
  if (typeof s !== 'string') return null;
  const q = plainQuoted(s);
  return q === null ? null : ',"' + key + '":' + q;
}

function endField(key: string, e: TransferEnd | null | undefined): string | null {
  if (e === undefined) return '';
  if (e === null) return ',"' + key + '":null';
  if (typeof e !== 'object' || !keysInOrder(e, END_KEYS)) return null;
  const pid = numField('pid', e.pid);
  const tid = numField('tid', e.tid);
  const comm = strField('comm', e.comm);
  const uid = numField('uid', e.uid);
  const fd = numField('fd', e.fd);
  const socket = strField('socket', e.socket);
  if (pid === null || tid === null || comm === null || uid === null || fd === null || socket === null) return null;
  const s = pid + tid + comm + uid + fd + socket;
  return ',"' + key + '":' + (s === '' ? '{}' : '{' + s.slice(1) + '}');
}

/**
 * JSON.stringify(r)'s exact text for a transfer, written by hand (JSON.stringify's generic walk costs several times
 * more) when its keys come in the order the correlator writes them and every string is printable ASCII; null
 * otherwise (the generic path).
 */
export function transferLine(r: TransferRecord): string | null {
  if (!keysInOrder(r, TRANSFER_KEYS)) return null;
  const v = numField('v', r.v);
  const type = strField('type', r.type);
  const ts = tsField('ts', r.ts);
  const via = strField('via', r.via);
  const state = strField('state', r.state);
  const from = endField('from', r.from);
  const to = endField('to', r.to);
  const target = strField('target', r.target);
  const kind = strField('kind', r.kind);
  const sentTs = tsField('sentTs', r.sentTs);
  const receivedTs = tsField('receivedTs', r.receivedTs);
  const reason = strField('reason', r.reason);
  const line = numField('line', r.line);
  const c = r.confirmed;
  const confirmed = c === undefined ? '' : c === null || typeof c === 'boolean' ? ',"confirmed":' + c : null;
  const origin = strField('origin', r.origin);
  if (v === null || type === null || ts === null || via === null || state === null || from === null || to === null || target === null ||
    kind === null || sentTs === null || receivedTs === null || reason === null || line === null || confirmed === null || origin === null) return null;
  const s = v + type + ts + via + state + from + to + target + kind + sentTs + receivedTs + reason + line + confirmed + origin;
  return s === '' ? '{}' : '{' + s.slice(1) + '}';
}
