// The helper process of a big snapshot (scanAll in ./scan.ts): takes [index, pid] entries from the queue on
// fd 3 until it is empty, reads those processes as the parent would, and writes its packed results to fd 4.
// argv: 'all' | 'pids', 'maps' | 'nomaps'.

import fs from 'node:fs';
import v8 from 'node:v8';
import { ProcReader } from './reader.js';
import { realNative, ScanCache, ScanPacker, scanProcess, type ScanOptions } from './scan.js';

const QUEUE = 3;
const RESULTS = 4;
const opts: ScanOptions = { all: process.argv[2] === 'all', maps: process.argv[3] === 'maps' };
const packer = new ScanPacker();
let error: string | null = null;
try {
  const reader = new ProcReader('/proc');
  const nat = realNative();
  const cache = new ScanCache();
  const entry = Buffer.alloc(8);
  while (fs.readSync(QUEUE, entry, 0, 8, null) === 8) {
    packer.add(entry.readInt32LE(0), scanProcess(reader, nat, entry.readInt32LE(4), [], opts, cache));
  }
} catch (e) {
  // the process being read is left out of the results: the parent reads it again
  error = e instanceof Error ? e.message : String(e);
}
const { reply } = packer.reply(error);
const bytes = v8.serialize(reply);
let off = 0;
try {
  while (off < bytes.length) off += fs.writeSync(RESULTS, bytes, off);
} catch {
  // the parent gave up on us: it reads our share itself
}
