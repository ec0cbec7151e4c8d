// Log readers (I/O edge): a single log, stdin, or an -ff file set merged in timestamp order.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { scanLine } from './scan.js';
import { Clock } from './joiner.js';

export interface ReadResult {
  lines: number;
  /** the input did not end with a newline: its last line may be cut */
  truncated: boolean;
}

export type ByteSink = (bytes: Buffer, start: number, end: number, lineNo: number) => void;

/** Cuts chunks into lines, handed out as ranges of the raw chunk: nothing is decoded here. */
class LineSplitter {
  private rest: Buffer | null = null;
  private n = 0;
  constructor(private readonly sink: ByteSink) {}

  /** The sink is done with `chunk` when this returns: it may be reused. */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.rest !== null) {
      // only the line that straddles two chunks is copied
      const nl = chunk.indexOf(10);
      if (nl < 0) { this.rest = Buffer.concat([this.rest, chunk]); return; }
      const first = Buffer.concat([this.rest, chunk.subarray(0, nl)]);
      this.rest = null;
      this.sink(first, 0, first.length, ++this.n);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.sink(chunk, start, nl, ++this.n);
      start = nl + 1;
    }
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
  }

  end(): ReadResult {
    const rest = this.rest;
    if (rest !== null && rest.length > 0) this.sink(rest, 0, rest.length, ++this.n);
    return { lines: this.n, truncated: rest !== null && rest.length > 0 };
  }
}

/** Splits a stream (stdin, the live FIFO) into lines. */
export function readStreamBytes(stream: Readable, sink: ByteSink): Promise<ReadResult> {
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter(sink);
    stream.on('data', (data: Buffer | string) => lines.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
    stream.on('error', reject);
    stream.on('end', () => resolve(lines.end()));
  });
}

/** Large chunks: fewer callbacks and fewer lines cut between two chunks. */
export const FILE_CHUNK = 1 << 22;

/**
 * Reads a file in FILE_CHUNK pieces. Two buffers take turns: the kernel fills the next chunk while
 * `onChunk` handles this one, so reading costs no time of its own. A chunk is only valid during its call.
 */
export async function readFileChunks(file: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const bufs = [Buffer.allocUnsafe(FILE_CHUNK), Buffer.allocUnsafe(FILE_CHUNK)] as const;
    let turn = 0;
    let reading = fh.read(bufs[0], 0, FILE_CHUNK, null);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const chunk = bufs[turn]!;
      turn ^= 1;
      reading = fh.read(bufs[turn]!, 0, FILE_CHUNK, null);
      onChunk(bytesRead === FILE_CHUNK ? chunk : chunk.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

/** Splits a file (or a named pipe) into lines. */
export async function readFileBytes(file: string, sink: ByteSink): Promise<ReadResult> {
  const lines = new LineSplitter(sink);
  await readFileChunks(file, (chunk) => lines.push(chunk));
  return lines.end();
}

export type TraceInput =
  | { kind: 'stdin' }
  | { kind: 'file'; path: string }
  | { kind: 'ff'; files: Array<{ path: string; pid: number }> };

export class InputError extends Error {}

/** `-` is stdin; a file is one log; otherwise PREFIX.<pid> files (strace -ff -o PREFIX), or a folder of them. */
export function resolveInput(arg: string): TraceInput {
  if (arg === '-') return { kind: 'stdin' };
  let st: fs.Stats | null = null;
  try { st = fs.statSync(arg); } catch { st = null; }
  // a pipe or a terminal (`fdwatch replay <(strace ... 2>&1)`) is read as one log, like a file
  if (st?.isFile() || st?.isFIFO() || st?.isCharacterDevice()) return { kind: 'file', path: arg };
  let dir: string;
  let prefix: string | null;
  if (st?.isDirectory()) { dir = arg; prefix = null; }
  else { dir = path.dirname(arg); prefix = path.basename(arg) + '.'; }
  let names: string[];
  try { names = fs.readdirSync(dir); } catch {
    throw new InputError(`no such trace: ${arg} (neither a file nor ${arg}.<pid> files from strace -ff)`);
  }
  const files: Array<{ path: string; pid: number }> = [];
  for (const name of names) {
    const m = /^(.*)\.(\d+)$/.exec(name);
    if (!m) continue;
    if (prefix !== null && name.slice(0, name.length - m[2]!.length) !== prefix) continue;
    files.push({ path: path.join(dir, name), pid: Number(m[2]) });
  }
  if (files.length === 0) {
    throw new InputError(st?.isDirectory()
      ? `no strace -ff files (NAME.<pid>) in folder ${arg}`
      : `no such trace: ${arg} (neither a file nor ${arg}.<pid> files from strace -ff)`);
  }
  files.sort((a, b) => a.pid - b.pid);
  return { kind: 'ff', files };
}

/** The -ff logs carry timestamps, so they can be merged in time order. */
export function ffTimed(files: Array<{ path: string }>): boolean {
  return timedHeads(files.map((f) => firstLine(f.path)));
}

/** The first non-empty file's first line has a timestamp. */
function timedHeads(heads: string[]): boolean {
  for (const h of heads) if (h) return scanLine(h).ts !== null;
  return false;
}

/** A file's first line, from its first 4 KB: no need to read the whole log for it. */
function firstLine(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString('latin1', 0, n);
    const nl = text.indexOf('\n');
    return nl < 0 ? text : text.slice(0, nl);
  } finally {
    fs.closeSync(fd);
  }
}

export interface FfLine { text: string; lineNo: number; file: number }

/**
 * Merges -ff files: by timestamp when the logs carry them (-t/-tt/-ttt), else file by file in pid order.
 * Calls `sink` with the index of the file each line came from.
 */
export function mergeFf(files: Array<{ path: string; pid: number }>, baseDay: number, sink: (l: FfLine) => void): { lines: number; truncated: boolean } {
  const texts = files.map((f) => fs.readFileSync(f.path, 'latin1'));
  let truncated = false;
  const lines = texts.map((t) => {
    if (t.length > 0 && !t.endsWith('\n')) truncated = true;
    const ls = t.split('\n');
    if (ls.length > 0 && ls[ls.length - 1] === '') ls.pop();
    return ls;
  });
  let total = 0;
  const timed = timedHeads(lines.map((ls) => ls[0] ?? ''));
  if (!timed) {
    lines.forEach((ls, file) => ls.forEach((text, i) => { total++; sink({ text, lineNo: i + 1, file }); }));
    return { lines: total, truncated };
  }
  const clocks = files.map(() => new Clock(baseDay));
  const idx = lines.map(() => 0);
  const keys = lines.map(() => -Infinity);
  const keyOf = (f: number): number => {
    const text = lines[f]![idx[f]!]!;
    const s = scanLine(text);
    if (s.ts !== null) keys[f] = s.tod ? clocks[f]!.epoch(s.ts) : s.ts;
    return keys[f]!;
  };
  const heads: number[] = lines.map((ls, f) => (ls.length > 0 ? keyOf(f) : Infinity));
  for (;;) {
    let best = -1;
    for (let f = 0; f < heads.length; f++) if (heads[f]! !== Infinity && (best < 0 || heads[f]! < heads[best]!)) best = f;
    if (best < 0) break;
    const i = idx[best]!;
    total++;
    sink({ text: lines[best]![i]!, lineNo: i + 1, file: best });
    idx[best] = i + 1;
    heads[best] = idx[best]! < lines[best]!.length ? keyOf(best) : Infinity;
  }
  return { lines: total, truncated };
}
