// Log readers (I/O edge): a single log, stdin, or an -ff file set merged in timestamp order.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Ch } from '../model/chars.js';
import { scanLine } from './scan.js';
import { InputError } from '../model/errors.js';
import { Clock, MAX_LINE } from './joiner.js';

export interface ReadResult {
  lines: number;
  /** the input did not end with a newline: its last line may be cut */
  truncated: boolean;
}

export type ByteSink = (bytes: Buffer, start: number, end: number, lineNo: number) => void;

/**
 * Cuts chunks into lines, handed out as ranges of the raw chunk: nothing is decoded here. A line that
 * straddles chunks is kept as a list of copied pieces and joined once; past MAX_LINE + 1 bytes the rest of
 * it is dropped as it comes (the joiner counts it as too long), so a line costs linear time and at most
 * MAX_LINE + 1 bytes whatever its length.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partLen = 0;
  private n = 0;
  constructor(private readonly sink: ByteSink) {}

  /** The sink is done with `chunk` when this returns: it may be reused. */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.partLen > 0) {
      // an offset always: Buffer#indexOf compiled for a number deoptimizes at an undefined one
      const nl = chunk.indexOf(Ch.LF, 0);
      if (nl < 0) { this.keep(chunk, 0, chunk.length); return; }
      this.keep(chunk, 0, nl);
      const first = this.take();
      this.sink(first, 0, first.length, ++this.n);
      start = nl + 1;
    }
    start = this.lines(chunk, start);
    if (start < chunk.length) this.keep(chunk, start, chunk.length);
  }

  /**
   * The whole lines of chunk[start..): where the last one ended. A loop of its own: the code compiled on stack for it
   * has nothing after the loop it never ran (in push that was keep: a deoptimization at the end of every chunk).
   */
  private lines(chunk: Buffer, start: number): number {
    for (;;) {
      const nl = chunk.indexOf(Ch.LF, start);
      if (nl < 0) return start;
      this.sink(chunk, start, nl, ++this.n);
      start = nl + 1;
    }
  }

  /** Copies chunk[a, b) into the line being assembled, up to MAX_LINE + 1 bytes of it. */
  private keep(chunk: Buffer, a: number, b: number): void {
    const take = Math.min(b - a, MAX_LINE + 1 - this.partLen);
    if (take <= 0) return;
    this.parts.push(Buffer.from(chunk.subarray(a, a + take)));
    this.partLen += take;
  }

  private take(): Buffer {
    const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partLen);
    this.parts = [];
    this.partLen = 0;
    return line;
  }

  end(): ReadResult {
    const cut = this.partLen > 0;
    if (cut) {
      const rest = this.take();
      this.sink(rest, 0, rest.length, ++this.n);
    }
    return { lines: this.n, truncated: cut };
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

/**
 * Chunks of 512 KB: replay takes the same time with 256 KB to 4 MB chunks, and two 4 MB buffers were 8 MB of the
 * process's peak memory.
 */
export const FILE_CHUNK = 1 << 19;

/**
 * Reads a file in FILE_CHUNK pieces; a chunk is only valid during its call. A regular file is read with readSync
 * into one buffer (from the page cache that is a copy: each asynchronous read cost the main thread more than the
 * whole copy, ~1 ms per call), and the event loop runs between chunks, so a stop signal is seen at the next one.
 * Anything else (a FIFO, a terminal) may block: two buffers take turns, the kernel filling the next chunk in a
 * worker thread while `onChunk` handles this one.
 */
export async function readFileChunks(file: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  let regular = false;
  try { regular = fs.statSync(file).isFile(); } catch { /* the open below says why */ }
  if (regular) return readRegularChunks(file, onChunk);
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

function readRegularChunks(file: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(FILE_CHUNK);
  const next = (resolve: () => void, reject: (e: unknown) => void): void => {
    try {
      const n = fs.readSync(fd, buf, 0, FILE_CHUNK, null);
      if (n === 0) { fs.closeSync(fd); resolve(); return; }
      onChunk(n === FILE_CHUNK ? buf : buf.subarray(0, n));
      // the event loop runs between chunks (signals, aborts), as it did between asynchronous reads
      setImmediate(next, resolve, reject);
    } catch (e) {
      try { fs.closeSync(fd); } catch { /* the first error is the one to tell */ }
      reject(e);
    }
  };
  return new Promise<void>((resolve, reject) => next(resolve, reject));
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

export { InputError } from '../model/errors.js';

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
  try {
    // only files: a folder named like sub.123 is no -ff log
    names = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name);
  } catch {
    throw new InputError(`no such trace: ${arg} (neither a file nor ${arg}.<pid> files from strace -ff)`);
  }
  const files: Array<{ path: string; pid: number }> = [];
  for (const name of names) {
    // PREFIX.<pid>, or compressed as PREFIX.<pid>.gz (see decompress.ts)
    const m = /^(.*)\.(\d+)(\.(?:gz|xz|zst|bz2))?$/.exec(name);
    if (!m) continue;
    if (prefix !== null && m[1]! + '.' !== prefix) continue;
    files.push({ path: path.join(dir, name), pid: Number(m[2]) });
  }
  if (files.length === 0) {
    throw new InputError(st?.isDirectory()
      ? `${arg} is a folder without strace -ff files (NAME.<pid>): give a log file (strace -f -o FILE), ` +
        `an -ff prefix (strace -ff -o PREFIX writes PREFIX.<pid>), or a folder of such files`
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

/** Bytes read from one -ff file at a time: the merge holds one such piece per file, not whole files. */
const FF_CHUNK = 1 << 16;

/**
 * One -ff file read line by line (latin1 text), synchronously. The file is opened for each read and read at
 * its offset, so thousands of files need no fd each; a line longer than MAX_LINE is cut to MAX_LINE + 1
 * chars (the joiner counts it as too long) and its rest dropped as it is read.
 */
class FileLines {
  private offset = 0;
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  private len = 0;
  private eof = false;
  private readonly parts: Buffer[] = [];
  private partLen = 0;
  /** the file did not end with a newline */
  truncated = false;
  lineNo = 0;

  constructor(private readonly file: string) {}

  /** The next line without its newline, or null at the end of the file. */
  next(): string | null {
    for (;;) {
      if (this.at < this.len) {
        const nl = this.buf.indexOf(Ch.LF, this.at);
        if (nl >= 0 && nl < this.len) {
          let text: string;
          if (this.partLen === 0) text = this.buf.toString('latin1', this.at, nl);
          else { this.keep(this.at, nl); text = this.joined(); }
          this.at = nl + 1;
          this.lineNo++;
          return text;
        }
        this.keep(this.at, this.len);
        this.at = this.len;
      }
      if (this.eof || !this.fill()) {
        this.eof = true;
        if (this.partLen === 0) return null;
        this.truncated = true;
        this.lineNo++;
        return this.joined();
      }
    }
  }

  private keep(a: number, b: number): void {
    const take = Math.min(b - a, MAX_LINE + 1 - this.partLen);
    if (take <= 0) return;
    this.parts.push(Buffer.from(this.buf.subarray(a, a + take)));
    this.partLen += take;
  }

  private joined(): string {
    const text = Buffer.concat(this.parts, this.partLen).toString('latin1');
    this.parts.length = 0;
    this.partLen = 0;
    return text;
  }

  /** Reads the next piece; false at the end of the file. */
  private fill(): boolean {
    const fd = fs.openSync(this.file, 'r');
    try {
      if (this.buf.length === 0) {
        // a small file (most -ff files are) gets a buffer of its own size, not a whole chunk
        const size = fs.fstatSync(fd).size;
        this.buf = Buffer.allocUnsafe(size > 0 && size < FF_CHUNK ? size : FF_CHUNK);
      }
      const n = fs.readSync(fd, this.buf, 0, this.buf.length, this.offset);
      this.offset += n;
      this.at = 0;
      this.len = n;
      if (n === 0) this.buf = Buffer.alloc(0);
      return n > 0;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Merges -ff files: by timestamp when the logs carry them (-t/-tt/-ttt), else file by file in pid order.
 * Calls `sink` with the index of the file each line came from. Each file is streamed: memory holds one
 * piece and one line per file.
 */
export function mergeFf(files: Array<{ path: string; pid: number }>, baseDay: number, sink: (l: FfLine) => void): { lines: number; truncated: boolean } {
  const readers = files.map((f) => new FileLines(f.path));
  const heads = readers.map((r) => r.next());
  const truncated = (): boolean => readers.some((r) => r.truncated);
  let total = 0;
  if (!timedHeads(heads.map((h) => h ?? ''))) {
    readers.forEach((r, file) => {
      for (let text = heads[file] ?? null; text !== null; text = r.next()) { total++; sink({ text, lineNo: r.lineNo, file }); }
      heads[file] = null;
    });
    return { lines: total, truncated: truncated() };
  }
  const clocks = files.map(() => new Clock(baseDay));
  const keys = files.map(() => -Infinity);
  const keyOf = (f: number): number => {
    const s = scanLine(heads[f]!);
    if (s.ts !== null) keys[f] = s.tod ? clocks[f]!.epoch(s.ts) : s.ts;
    return keys[f]!;
  };
  const order: number[] = heads.map((h, f) => (h !== null ? keyOf(f) : Infinity));
  for (;;) {
    let best = -1;
    for (let f = 0; f < order.length; f++) if (order[f]! !== Infinity && (best < 0 || order[f]! < order[best]!)) best = f;
    if (best < 0) break;
    total++;
    sink({ text: heads[best]!, lineNo: readers[best]!.lineNo, file: best });
    heads[best] = readers[best]!.next();
    order[best] = heads[best] !== null ? keyOf(best) : Infinity;
  }
  return { lines: total, truncated: truncated() };
}
