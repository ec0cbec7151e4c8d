// Compressed logs (I/O edge): a log is told by its first bytes, not its name; gzip is decoded with node:zlib as it
// is read, the formats Node 20 cannot decode get one line saying which command decodes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';

/** node:zlib, loaded at the first compressed log: a plain replay does not pay its start-up */
const zlib = (): typeof import('node:zlib') => createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
import { InputError } from '../model/errors.js';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2';

/** The magic numbers each format starts with (RFC 1952, the xz and zstd format specs, bzip2's "BZh"). */
const MAGIC: Array<[Compression, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

/** The compression `head` (a file's first bytes) starts with, or null for anything else (plain text). */
export function compressionOf(head: Uint8Array): Compression | null {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return null;
}

/**
 * A regular file's compression, from its first bytes; 'binary' when its first line holds a NUL byte (an ELF file: strace
 * escapes every NUL it prints, so no log starts so); null for plain text and for anything not a regular file.
 */
export function fileKind(file: string): Compression | 'binary' | null {
  let fd: number;
  try {
    if (!fs.statSync(file).isFile()) return null; // a pipe's first bytes cannot be put back
    fd = fs.openSync(file, 'r');
  } catch { return null; }
  try {
    const buf = Buffer.alloc(4096);
    const head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
    const kind = compressionOf(head);
    if (kind !== null) return kind;
    const nl = head.indexOf(10);
    return head.subarray(0, nl < 0 ? head.length : nl).includes(0) ? 'binary' : null;
  } finally {
    fs.closeSync(fd);
  }
}

/** A regular file's compression, or null. */
export function fileCompression(file: string): Compression | null {
  const kind = fileKind(file);
  return kind === 'binary' ? null : kind;
}

const TOOL: Record<Exclude<Compression, 'gzip'>, string> = { xz: 'xz -dc', zstd: 'zstd -dc', bzip2: 'bzip2 -dc' };

/** Throws the one line for a format Node 20 cannot decode, naming the command that pipes the log in instead. */
export function requireDecodable(file: string, kind: Compression): asserts kind is 'gzip' {
  if (kind === 'gzip') return;
  throw new InputError(`${file} is ${kind}-compressed, which Node 20 cannot decode: ${TOOL[kind]} ${file} | fdwatch replay -`);
}

/** A zlib error as the one line it means for the user; anything else is passed on as it is. */
export function gzipFailure(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!code?.startsWith('Z_')) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new InputError(`${file} is not a readable gzip file (${msg}): check it with gzip -t ${file}`, { cause: e });
}

/** A gzip file, decoded as it is read; `raw` counts the compressed bytes read so far (for progress). */
export function gunzipStream(file: string): { stream: Readable; raw: () => number } {
  const src = fs.createReadStream(file);
  const gunzip = zlib().createGunzip();
  src.on('error', (e) => gunzip.destroy(e));
  // a stop destroys the decoded end: the file goes with it
  gunzip.on('close', () => src.destroy());
  src.pipe(gunzip);
  return { stream: gunzip, raw: () => src.bytesRead };
}

/**
 * An -ff set with compressed members: each compressed file is decoded into a private temporary folder under the
 * same name without its suffix, so the merge reads plain files one piece at a time. `cleanup` removes the folder.
 */
export async function decodeFfSet<F extends { path: string; pid: number }>(files: F[]):
  Promise<{ files: F[]; cleanup: () => void }> {
  const kinds = files.map((f) => fileCompression(f.path));
  if (kinds.every((k) => k === null)) return { files, cleanup: () => {} };
  kinds.forEach((k, i) => { if (k !== null) requireDecodable(files[i]!.path, k); });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-ff-'));
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const out: F[] = [];
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      if (kinds[i] === null) { out.push(f); continue; }
      const plain = path.join(dir, path.basename(f.path).replace(/\.[a-z0-9]+$/i, ''));
      await new Promise<void>((resolve, reject) => {
        pipeline(fs.createReadStream(f.path), zlib().createGunzip(), fs.createWriteStream(plain), (e) => {
          if (!e) resolve();
          else reject(gzipFailure(f.path, e));
        });
      });
      // the decoded copy keeps the original's times: a -t/-tt log takes its day from them
      const st = fs.statSync(f.path);
      fs.utimesSync(plain, st.atime, st.mtime);
      out.push({ ...f, path: plain });
    }
    return { files: out, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
