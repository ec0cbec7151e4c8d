// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdwatchRecord } from '../model/records.js';

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

/** characters of lines held before they are written: 64 KB of ASCII per write (a larger string grew the young generation) */
const BUFFER_CHARS = 1 << 16;

/**
 * `target` is a file path or '-' for stdout. Without `onError` a write error throws from write/flush/close;
 * with it, the first error goes to `onError` (never thrown: flushes run from timers) and later records are dropped.
 */
export function openNdjson(target: string, onError?: WriteErrorHandler): RecordWriter {
  const fd = target === '-' ? 1 : fs.openSync(target, 'w');
  // the lines since the last write, as one string: JSON.stringify and one UTF-8 encoding per flush are native, so
  // they cost the same from a process's first record on (a writer by hand ran interpreted for most of a short replay)
  let pending = '';
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
    if (pending.length === 0) return;
    const text = pending;
    pending = '';
    out(Buffer.from(text, 'utf8'));
  };
  return {
    path: target,
    get failed() { return failed; },
    write(r) {
      if (closed || failed) return;
      pending += JSON.stringify(r) + '\n';
      if (pending.length >= BUFFER_CHARS) flush();
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
