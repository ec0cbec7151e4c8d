// Live map records carry the kernel's device and inode of what was mapped, found without reading /proc/PID/maps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { MapRecord } from '../../src/model/records.js';
import { mapDetails } from '../../src/live/trace.js';
import { fdwatch, records, tmp } from './run.js';

// Prints "ino MAJ:MIN" of a memfd, maps it shared and unmaps it at once (the mapping is gone before fdwatch
// reads the line), then maps a file of 100 bytes (one partial page) and keeps it until stdin closes.
const MAPPER_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
static void show(const char *what, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) _exit(3);
  printf("%s %lu %02x:%02x\n", what, (unsigned long)st.st_ino, major(st.st_dev), minor(st.st_dev));
  fflush(stdout);
}
int main(int argc, char **argv) {
  int m = memfd_create("fdwatch-map", MFD_CLOEXEC);
  if (m < 0 || ftruncate(m, 8192) != 0) return 2;
  show("memfd", m);
  void *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
  if (a == MAP_FAILED || munmap(a, 8192) != 0) return 4;
  int f = open(argv[1], O_RDWR);
  if (f < 0) return 5;
  show("file", f);
  void *b = mmap(NULL, 100, PROT_READ, MAP_SHARED, f, 0);
  if (b == MAP_FAILED) return 6;
  printf("mapped\n");
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {}
  return 0;
}
`;

test('shared mappings: dev and inode of a memfd unmapped at once and of a file mapped by a partial page', async () => {
  const src = path.join(tmp, 'mapper.c');
  const exe = path.join(tmp, 'mapper');
  fs.writeFileSync(src, MAPPER_C);
  execFileSync('cc', ['-O1', '-o', exe, src]);
  const file = path.join(tmp, 'mapped.txt');
  fs.writeFileSync(file, 'x'.repeat(100));
  const json = path.join(tmp, 'maps.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, '--', exe, file]);
  await r.waitFor(/MAP [^\n]*mapped\.txt/);
  r.child.stdin!.end();
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const truth = new Map([...r.out().matchAll(/^(memfd|file) (\d+) ([0-9a-f]+:[0-9a-f]+)$/gm)].map((m) => [m[1]!, { inode: Number(m[2]), dev: m[3]! }]));
  assert.is(truth.size, 2, r.out());
  const maps = records(json).filter((x): x is MapRecord => x.type === 'map');
  const memfd = maps.find((m) => m.path?.startsWith('/memfd:fdwatch-map'));
  const mapped = maps.find((m) => m.path === file);
  assert.ok(memfd && mapped, JSON.stringify(maps));
  assert.equal({ dev: memfd.dev, inode: memfd.inode }, truth.get('memfd'), 'the unmapped memfd, through the fd it was mapped from');
  assert.equal({ dev: mapped.dev, inode: mapped.inode }, truth.get('file'), 'the file, through map_files');
});

test('a mapping of an open file description seen before: its dev and inode even once the fd and the file are gone', () => {
  // what a lagging trace meets on a busy program: the mapping, its fd and its file already gone when the record is read
  const file = path.join(tmp, 'mapped-again.bin');
  fs.writeFileSync(file, 'y'.repeat(4096));
  const fd = fs.openSync(file, 'r');
  const st = fs.fstatSync(fd, { bigint: true });
  const dev = `${Number(st.dev >> 8n & 0xfffn).toString(16).padStart(2, '0')}:${Number(st.dev & 0xffn).toString(16).padStart(2, '0')}`;
  // no mapping at this address: only the fd can tell what was mapped
  const rec = (origin: string): MapRecord => ({
    v: 1, type: 'map', ts: 0, pid: process.pid, start: '0x1000', end: '0x2000', perms: 'r--s', offset: '0x0', path: file, fd, origin,
  });
  const first = rec('ofd:test-1');
  mapDetails(first);
  assert.equal({ dev: first.dev, inode: first.inode }, { dev, inode: Number(st.ino) }, 'through the fd, while it is open');
  fs.closeSync(fd);
  fs.rmSync(file);
  const again = rec('ofd:test-1');
  mapDetails(again);
  assert.equal({ dev: again.dev, inode: again.inode }, { dev, inode: Number(st.ino) }, 'the same open file description: known');
  const other = rec('ofd:test-2');
  mapDetails(other);
  assert.is(other.inode, undefined, 'another open file description with that fd number, now closed: nothing to tell');
  // a range that is no address (a trace's `= -1`) is left alone; enrichment never throws
  for (const start of ['0x-1', 'nonsense']) {
    const odd: MapRecord = { ...rec('ofd:test-3'), start };
    mapDetails(odd);
    assert.is(odd.inode, undefined, start);
  }
});

test('a mapping whose process and fd are gone (a lagging trace): no readlink that throws, only stats that say ENOENT', () => {
  // a thrown readlink builds an Error with its stack (~30 µs); a lagging trace meets thousands of these
  const dir = fs.mkdtempSync(path.join(tmp, 'gone-'));
  const fd = fs.openSync(path.join(dir, 'f'), 'w');
  fs.closeSync(fd); // its number is free now: /proc/self/fd/N names nothing
  const calls: string[] = [];
  const readlink = fs.readlinkSync;
  (fs as { readlinkSync: typeof fs.readlinkSync }).readlinkSync = ((p: fs.PathLike, o?: unknown) => {
    calls.push(String(p));
    return (readlink as (p: fs.PathLike, o?: unknown) => string)(p, o);
  }) as typeof fs.readlinkSync;
  try {
    const rec: MapRecord = {
      v: 1, type: 'map', ts: 0, pid: process.pid, start: '0x1000', end: '0x2000', perms: 'rw-s', offset: '0x0',
      path: '/memfd:gone (deleted)', fd, origin: 'ofd:test-gone',
    };
    mapDetails(rec);
    assert.is(rec.inode, undefined, 'nothing left to tell');
    assert.equal(calls.filter((c) => c === `/proc/${process.pid}/fd/${fd}`), [], 'the closed fd is not readlink-ed');
  } finally {
    (fs as { readlinkSync: typeof fs.readlinkSync }).readlinkSync = readlink;
  }
});

test.run();
