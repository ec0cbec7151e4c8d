// strace prints huge page sizes as shifts (`21<<MAP_HUGE_SHIFT`, `63<<MFD_HUGE_SHIFT`): the `<` after a digit
// there opens no fd decoration. Real strace output of a program that makes those calls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const SHIFTS_C = String.raw`
#define _GNU_SOURCE
#include <linux/memfd.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  /* what Chromium probes: every flag bit and a page size the kernel rejects (EINVAL) */
  memfd_create("", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | 0x3fffff8 | (63u << MFD_HUGE_SHIFT));
  memfd_create("huge", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
  mmap(NULL, 2 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
  int m = memfd_create("plain", MFD_CLOEXEC);
  if (m < 0 || ftruncate(m, 4096) != 0) return 2;
  /* the size bits are ignored without MAP_HUGETLB: a real shared mapping of the memfd */
  return mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_HUGE_2MB, m, 0) == MAP_FAILED ? 3 : 0;
}
`;

test('memfd_create and mmap with N<<*_HUGE_SHIFT flags: no parse error, the memfds and the shared mapping', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-shift-'));
  try {
    fs.writeFileSync(path.join(tmp, 'shifts.c'), SHIFTS_C);
    const exe = path.join(tmp, 'shifts');
    execFileSync('cc', ['-O1', '-o', exe, path.join(tmp, 'shifts.c')]);
    const log = path.join(tmp, 'shifts.log');
    execFileSync('strace', ['-f', '-yy', '-qq', '-o', log, exe], { stdio: ['ignore', 'ignore', 'inherit'] });
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, /memfd_create\("", [^)]*\|63<<MFD_HUGE_SHIFT\) = -1 EINVAL/);
    assert.match(text, /mmap\(NULL, 4096, PROT_READ, MAP_SHARED\|21<<MAP_HUGE_SHIFT, 4</);
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'fdwatch.js'), 'replay', log, '--json', '-'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = recs.at(-1)!;
    assert.is(summary['type'], 'summary');
    assert.equal([summary['parseErrors'], summary['parseErrorSamples']], [0, []]);
    const opened = recs.filter((x) => x['type'] === 'fd' && x['op'] === 'open').map((x) => x['target']);
    assert.ok(opened.includes('/memfd:huge') && opened.includes('/memfd:plain'), JSON.stringify(opened));
    const maps = recs.filter((x) => x['type'] === 'map');
    // the mapping names the memfd as its decoration then did: a memfd's name is always "(deleted)"
    assert.equal(maps.map((x) => [x['path'], x['perms'], x['fd']]), [['/memfd:plain (deleted)', 'r--s', 4]]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
