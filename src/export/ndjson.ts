// NDJSON writer (I/O edge): buffers records, writes in large chunks, flushes and closes on every exit path.
import fs from 'node:fs';
import type { FdwatchRecord } from '../model/records.js';

export interface RecordWriter {
  write(r: FdwatchRecord): void;
  /** Writes what is buffered; synchronous so it also works from signal handlers and exit hooks. */
  flush(): void;
  close(): void;
  readonly path: string;
}

const FLUSH_AT = 1 << 16;

/** `target` is a file path or '-' for stdout. */
export function openNdjson(target: string): RecordWriter {
  const fd = target === '-' ? 1 : fs.openSync(target, 'w');
  let buf: string[] = [];
  let size = 0;
  let closed = false;
  const flush = (): void => {
    if (buf.length === 0) return;
    const data = buf.join('');
    buf = [];
    size = 0;
    writeAll(fd, data);
  };
  return {
    path: target,
    write(r) {
      if (closed) return;
      const line = JSON.stringify(r) + '\n';
      buf.push(line);
      size += line.length;
      if (size >= FLUSH_AT) flush();
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

function writeAll(fd: number, data: string): void {
  const b = Buffer.from(data, 'utf8');
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
