// snapshotLines writes each record's JSON by hand: it must be JSON.stringify of snapshotRecords' record, byte for byte.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { snapshotLines, snapshotRecords } from '../../src/procfs/records.js';
import { snapshotProcesses, type Snapshot } from '../../src/procfs/snapshot.js';
import { unpackTree } from './fixture-tree.js';

const same = (snap: Snapshot): void => {
  const want = snapshotRecords(snap).map((r) => JSON.stringify(r));
  const got = snapshotLines(snap);
  assert.ok(want.length > 0);
  for (let i = 0; i < Math.max(want.length, got.length); i++) assert.is(got[i], want[i], `line ${i}`);
};

test('the fixture tree: notes, sockets with peers and owners, maps, unreadable fdinfo', () => {
  const root = unpackTree();
  try {
    const snap = snapshotProcesses(root, 'all');
    assert.ok(snap.processes.some((p) => p.notes.length > 0 || p.fds.some((f) => f.info === null)) || snap.processes.length > 0);
    same(snap);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a live process: a file with quotes, control and non-ASCII bytes in its name, a socketpair, a mapping', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-lines-'));
  const odd = path.join(dir, 'we"ird\\ \u00e9\u4e2d\x01 name');
  fs.writeFileSync(odd, 'x'.repeat(8192));
  const script = `const fs=require('fs');const net=require('net');const fd=fs.openSync(${JSON.stringify(odd)},'r');` +
    `const s=net.createServer().listen(0,'127.0.0.1',()=>process.stdout.write('ready\\n'));setInterval(()=>{},1e6);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    return new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => {
        try {
          const snap = snapshotProcesses('/proc', [child.pid!, process.pid]);
          const fds = snap.processes.flatMap((p) => p.fds);
          assert.ok(fds.some((f) => f.target.includes('we"ird')), 'the odd name is listed');
          assert.ok(fds.some((f) => f.socket !== null), 'a socket is listed');
          assert.ok(snap.processes.some((p) => p.maps.length > 0), 'maps are listed');
          same(snap);
          resolve();
        } catch (e) { reject(e); }
      });
    }).finally(() => { child.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
});

test('the whole machine', () => {
  same(snapshotProcesses('/proc', 'all'));
});

test.run();
