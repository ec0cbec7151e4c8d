// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdRecord, FdwatchRecord } from '../model/records.js';

export interface RecordWriter {
  write(r: FdwatchRecord): void;
  /** Writes what is buffered; synchronous so it also works from signal handlers and exit hooks. */
  flush(): void;
  close(): void;
  readonly path: string;
}

const BUFFER_SIZE = 1 << 20;

/** `target` is a file path or '-' for stdout. */
export function openNdjson(target: string): RecordWriter {
  const fd = target === '-' ? 1 : fs.openSync(target, 'w');
  const buf = Buffer.allocUnsafe(BUFFER_SIZE);
  let off = 0;
  let closed = false;
  const flush = (): void => {
    if (off === 0) return;
    const n = off;
    off = 0;
    writeAll(fd, buf.subarray(0, n));
  };
  return {
    path: target,
    write(r) {
      if (closed) return;
      lineAscii = false;
      const line = r.type === 'fd' ? fdLine(r) : JSON.stringify(r);
      // ASCII text is its own UTF-8, and a latin1 write is a plain byte copy: several times cheaper than encoding UTF-8
      const room = lineAscii ? line.length + 1 : 3 * line.length + 1;
      if (off + room > BUFFER_SIZE) flush();
      if (room > BUFFER_SIZE) { writeAll(fd, Buffer.from(line + '\n', 'utf8')); return; }
      off += buf.write(line, off, lineAscii ? 'latin1' : 'utf8');
      buf[off++] = 10;
    },
    flush,
    close() {
      if (closed) return;
      flush();
      closed = true;
      if (fd !== 1) fs.closeSync(fd);
    },
  };
}

const FD_KEYS = new Set(['v', 'type', 'ts', 'pid', 'fd', 'op', 'target', 'kind', 'cloexec', 'syscall', 'tid', 'fromFd', 'fromPid']);

/** Set by fdLine: the line it returned is all ASCII. */
let lineAscii = false;
let lastTs: number | null = null;
let lastTsText = 'null';

/** A string's JSON text when it is printable ASCII with nothing to escape (the common case), else null. */
function plainQuoted(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 /* " */ || c === 92 /* \ */) return null;
  }
  return '"' + s + '"';
}

/** The commonest record, written by hand: the same text JSON.stringify gives, without its generic walk. */
export function fdLine(r: FdRecord): string {
  for (const k in r) if (!FD_KEYS.has(k)) return JSON.stringify(r); // snapshot extras: the generic path
  // the records of one syscall share a stamp: format it once
  if (r.ts !== lastTs) { lastTs = r.ts; lastTsText = JSON.stringify(r.ts); }
  let target = r.target === null ? 'null' : plainQuoted(r.target);
  let ascii = true;
  if (target === null) { target = JSON.stringify(r.target); ascii = false; }
  let syscall = r.syscall === null ? 'null' : plainQuoted(r.syscall);
  if (syscall === null) { syscall = JSON.stringify(r.syscall); ascii = false; }
  let s = '{"v":' + r.v + ',"type":"fd","ts":' + lastTsText + ',"pid":' + r.pid + ',"fd":' + r.fd + ',"op":"' + r.op +
    '","target":' + target + ',"kind":"' + r.kind + '","cloexec":' + r.cloexec + ',"syscall":' + syscall;
  if (r.tid !== undefined) s += ',"tid":' + r.tid;
  if (r.fromFd !== undefined) s += ',"fromFd":' + r.fromFd;
  if (r.fromPid !== undefined) s += ',"fromPid":' + r.fromPid;
  lineAscii = ascii;
  return s + '}';
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // non-blocking stdout pipe
      throw e;
    }
  }
}
