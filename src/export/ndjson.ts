// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdRecord, FdwatchRecord } from '../model/records.js';
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
      const fast = r.type === 'fd' ? fdLine(r) : null;
      const line = fast ?? JSON.stringify(r);
      const room = (fast !== null ? line.length : 3 * line.length) + 1;
      if (off + room > BUFFER_SIZE) flush();
      if (room > BUFFER_SIZE) { out(Buffer.from(line + '\n', 'utf8')); return; }
      off += buf.write(line, off, fast !== null ? 'latin1' : 'utf8');
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

let lastTs: number | null = null;
let lastTsText = 'null';

/**
 * JSON.stringify(r)'s exact text, written by hand for the commonest record when it is printable ASCII;
 * null when it needs the generic path: a snapshot's extra fields, or a string to escape or encode as UTF-8.
 */
export function fdLine(r: FdRecord): string | null {
  if (r.pos !== undefined || r.flags !== undefined || r.ofd !== undefined || r.socket !== undefined || r.inFlight !== undefined || r.was !== undefined) return null;
  const target = r.target === null ? 'null' : plainQuoted(r.target);
  const syscall = r.syscall === null ? 'null' : plainQuoted(r.syscall);
  if (target === null || syscall === null) return null;
  // the records of one syscall share a stamp: format it once
  if (r.ts !== lastTs) { lastTs = r.ts; lastTsText = JSON.stringify(r.ts); }
  let s = '{"v":' + r.v + ',"type":"fd","ts":' + lastTsText + ',"pid":' + num(r.pid) + ',"fd":' + num(r.fd) +
    ',"op":"' + r.op + '","target":' + target + ',"kind":"' + r.kind + '","cloexec":' + r.cloexec + ',"syscall":' + syscall;
  if (r.tid !== undefined) s += ',"tid":' + num(r.tid);
  if (r.fromFd !== undefined) s += ',"fromFd":' + num(r.fromFd);
  if (r.fromPid !== undefined) s += ',"fromPid":' + num(r.fromPid);
  if (r.origin !== undefined) { const o = plainQuoted(r.origin); if (o === null) return null; s += ',"origin":' + o; }
  return s + '}';
}
