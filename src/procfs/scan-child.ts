// The helper process of a big snapshot (scanAll in ./scan.ts): takes [index, pid] entries from the queue on
// fd 3 until it is empty, reads those processes as the parent would, and writes its packed results to fd 4,
// a frame every few processes so that the parent unpacks them while both still read.
// argv: 'all' | 'pids', 'maps' | 'nomaps', [fds per frame].

import fs from 'node:fs';
import { ProcReader } from './reader.js';
import { frame, realNative, ScanCache, ScanPacker, scanProcess, type ScanOptions } from './scan.js';

const QUEUE = 3;
const RESULTS = 4;
/** fds per frame: ~20 KB of reply, small enough to come soon, large enough that framing costs nothing */
const FRAME_FDS = Number(process.argv[4] ?? 256) || 256;
const opts: ScanOptions = { all: process.argv[2] === 'all', maps: process.argv[3] === 'maps' };

let open = true;
const send = (packer: ScanPacker, error: string | null): void => {
  if (!open) return;
  const bytes = frame(packer.reply(error).reply);
  let off = 0;
  try {
    while (off < bytes.length) off += fs.writeSync(RESULTS, bytes, off);
  } catch {
    open = false; // the parent gave up on us: it reads our share itself
  }
};

const packer = new ScanPacker();
let fds = 0;
let error: string | null = null;
try {
  const reader = new ProcReader('/proc');
  const nat = realNative();
  const cache = new ScanCache();
  const entry = Buffer.alloc(8);
  while (open && fs.readSync(QUEUE, entry, 0, 8, null) === 8) {
    const r = scanProcess(reader, nat, entry.readInt32LE(4), [], opts, cache);
    packer.add(entry.readInt32LE(0), r);
    fds += typeof r === 'string' ? 0 : r.fds.length;
    if (fds >= FRAME_FDS) {
      send(packer, null);
      packer.reset();
      fds = 0;
    }
  }
} catch (e) {
  // the process being read is left out of the results: the parent reads it again
  error = e instanceof Error ? e.message : String(e);
}
// the last frame: what is left, or the error that stopped the loop
if (packer.size() > 0 || error !== null) send(packer, error);
