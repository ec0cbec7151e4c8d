// `fdwatch snapshot --diff OLD [pids..]` against real processes that open, close and replace fds between the two
// snapshots; and OLD files that are not snapshots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FdRecord, FdwatchRecord, ProcessRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-diff-'));
const started: ChildProcess[] = [];
process.on('exit', () => { for (const c of started) c.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); });

/** Ends every process the tests started (their pipes would keep this one alive). */
async function stopAll(): Promise<void> {
  await Promise.all(started.map((c) => c.exitCode !== null || c.signalCode !== null ? null
    : new Promise((res) => { c.once('exit', res); c.kill('SIGKILL'); })));
}

const fdwatch = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir });

// a process that opens and closes files when told on stdin, and says `ok FD...` each time it is done
const HOLDER = [
  'import os, sys',
  'def out(*fds): print("ok", *fds, flush=True)',
  'for line in sys.stdin:',
  '    cmd, *args = line.split()',
  '    if cmd == "open": out(*[os.open(p, os.O_RDONLY) for p in args])',
  '    elif cmd == "close": [os.close(int(a)) for a in args]; out()',
  '    elif cmd == "over": fd = os.open(args[1], os.O_RDONLY); os.dup2(fd, int(args[0])); os.close(fd); out()',
].join('\n');

function holder(): { pid: number; ask: (line: string) => Promise<number[]> } {
  const c = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(c);
  let buf = '';
  const waiting: Array<(fds: number[]) => void> = [];
  c.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line.split(' ').slice(1).map(Number));
    }
  });
  return { pid: c.pid!, ask: (line) => new Promise((resolve) => { waiting.push(resolve); c.stdin!.write(line + '\n'); }) };
}

const parse = (text: string): FdwatchRecord[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FdwatchRecord);
const files = (n: string): string => { const f = path.join(dir, n); fs.writeFileSync(f, n); return f; };

test('snapshot --diff: fds opened, closed and changed per process, the growth, a new and a gone process', async () => {
  try { await diffOfRealProcesses(); } finally { await stopAll(); }
});

async function diffOfRealProcesses(): Promise<void> {
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map(files) as [string, string, string, string, string];
  const h = holder();
  const [fa, fb] = await h.ask(`open ${a} ${b}`) as [number, number];
  const old = path.join(dir, 'old.ndjson');
  const gone = holder();
  await gone.ask(`open ${a}`);
  let r = fdwatch(['snapshot', String(h.pid), String(gone.pid), '--json', old]);
  assert.is(r.status, 0, r.stderr);
  // between the snapshots: open c and d, close a, put e in b's place; one process ends, another starts
  const [fc, fd] = await h.ask(`open ${c} ${d}`) as [number, number];
  await h.ask(`close ${fa}`);
  await h.ask(`over ${fb} ${e}`);
  const fresh = holder();
  await fresh.ask(`open ${d}`);
  started[1]!.kill('SIGKILL');
  await new Promise((res) => started[1]!.once('exit', res));

  const pids = [String(h.pid), String(gone.pid), String(fresh.pid)];
  r = fdwatch(['snapshot', '--diff', old, ...pids]);
  assert.is(r.status, 0, r.stderr);
  const t = r.stdout;
  assert.match(t, new RegExp(`python3\\[${h.pid}\\]: (\\d+) -> (\\d+) fds \\(\\+1\\)`));
  assert.match(t, new RegExp(`  \\+ fd ${fc}  file  ${c}\n  \\+ fd ${fd}  file  ${d}\n  - fd ${fa}  file  ${a}\n  ~ fd ${fb}  ${b} -> file  ${e}\n`));
  assert.match(t, new RegExp(`gone  python3\\[${gone.pid}\\]: had \\d+ fds`));
  assert.match(t, new RegExp(`new   python3\\[${fresh.pid}\\]: \\d+ fds`));
  assert.match(t, /1 processes in both, 1 changed \(2 fds opened, 1 closed, 1 changed, \+1 in all\), 1 new, 1 gone\n$/);

  r = fdwatch(['snapshot', '--diff', old, ...pids, '--json', '-']);
  assert.is(r.status, 0, r.stderr);
  const recs = parse(r.stdout);
  const procs = recs.filter((x): x is ProcessRecord => x.type === 'process');
  assert.equal(procs.map((p) => [p.pid, p.event, p.fdsAfter! - p.fdsBefore!]).filter((p) => p[0] === h.pid), [[h.pid, 'diff', 1]]);
  assert.is(procs.find((p) => p.pid === gone.pid)!.fdsAfter, null);
  assert.is(procs.find((p) => p.pid === fresh.pid)!.fdsBefore, null);
  const fds = recs.filter((x): x is FdRecord => x.type === 'fd');
  assert.equal(fds.map((f) => [f.op, f.fd, f.target, f.was]), [
    ['opened', fc, c, undefined], ['opened', fd, d, undefined], ['closed', fa, a, undefined], ['changed', fb, e, b],
  ]);
  assert.ok(fds.every((f) => f.pid === h.pid && f.ts === procs[0]!.ts));

  // nothing changed: said in one line
  const again = path.join(dir, 'again.ndjson');
  assert.is(fdwatch(['snapshot', String(h.pid), '--json', again]).status, 0);
  r = fdwatch(['snapshot', '--diff', again, String(h.pid)]);
  assert.match(r.stdout, /no fd changed in 1 processes\n/);
}

test('snapshot --diff: an OLD that is missing, not JSON, or holds no snapshot is one line and exit 1; no file is exit 2', () => {
  const notJson = path.join(dir, 'bad.ndjson');
  fs.writeFileSync(notJson, '{"v":1,"type":"process"}\nnot json at all\n');
  const replayOut = path.join(root, 'fixtures', 'golden', 'leak', 'tidy.ndjson');
  const cases: Array<[string[], number, RegExp]> = [
    [['--diff', path.join(dir, 'nope.ndjson')], 1, /^fdwatch: --diff: cannot read .*nope\.ndjson: no such file\n$/],
    [['--diff', notJson], 1, /^fdwatch: --diff: .*bad\.ndjson line 2 is not JSON: give a file written by fdwatch snapshot --json\n$/],
    [['--diff', replayOut], 1, /^fdwatch: --diff: .*tidy\.ndjson holds no snapshot records of process \d+: give a file written by fdwatch snapshot --json\n$/],
    [['--diff', dir], 1, /^fdwatch: --diff: cannot read .*: is a directory\n$/],
    [['--diff'], 2, /^fdwatch: .*/],
    [['--diff='], 2, /^fdwatch: --diff needs the file of an earlier snapshot --json\n$/],
  ];
  for (const [args, code, re] of cases) {
    const r = fdwatch(['snapshot', String(process.pid), ...args]);
    assert.is(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.is(r.stdout, '', args.join(' '));
  }
});

test.run();
