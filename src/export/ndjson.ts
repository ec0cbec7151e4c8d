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

const FLUSH_AT = 1 << 20;

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
      const line = (r.type === 'fd' ? fdLine(r) : JSON.stringify(r)) + '\n';
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

const FD_KEYS = new Set(['v', 'type', 'ts', 'pid', 'fd', 'op', 'target', 'kind', 'cloexec', 'syscall', 'tid', 'fromFd', 'fromPid']);

/** The commonest record, written by hand: the same text JSON.stringify gives, without its generic walk. */
export function fdLine(r: FdRecord): string {
  for (const k in r) if (!FD_KEYS.has(k)) return JSON.stringify(r); // snapshot extras: the generic path
  let s = `{"v":${r.v},"type":"fd","ts":${r.ts === null ? 'null' : JSON.stringify(r.ts)},"pid":${r.pid}` +
    `,"fd":${r.fd},"op":"${r.op}","target":${JSON.stringify(r.target)},"kind":"${r.kind}","cloexec":${r.cloexec}` +
    `,"syscall":${r.syscall === null ? 'null' : JSON.stringify(r.syscall)}`;
  if (r.tid !== undefined) s += `,"tid":${r.tid}`;
  if (r.fromFd !== undefined) s += `,"fromFd":${r.fromFd}`;
  if (r.fromPid !== undefined) s += `,"fromPid":${r.fromPid}`;
  return s + '}';
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
