// The blessed app on a fake terminal (streams): the throttled render loop, quit through onQuit, export to a file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { openDashboard, FRAME_MS, type DashboardHandle } from '../../src/tui/app.js';
import { frameText } from '../../src/tui/screen.js';
import { proc, seedRecords } from './records.js';

class FakeTerminal extends Writable {
  columns = 100;
  rows = 30;
  isTTY = true;
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    if (this.text.length > 1 << 20) this.text = this.text.slice(-(1 << 19));
    cb();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Opened { dash: DashboardHandle; input: PassThrough; out: FakeTerminal; frames: number[]; screen: () => string }

function open(extra: { onQuit?: () => Promise<void> | void; exportDir?: string } = {}): Opened {
  const input = new PassThrough();
  const out = new FakeTerminal();
  const frames: number[] = [];
  let last = '';
  const dash = openDashboard({
    title: 'test', json: null, onQuit: extra.onQuit ?? (() => {}),
    io: { input, output: out, terminal: 'xterm-256color', signals: false },
    onFrame: (ms, f) => { frames.push(ms); last = frameText(f).join('\n'); },
    ...(extra.exportDir ? { exportDir: extra.exportDir } : {}),
  });
  return { dash, input, out, frames, screen: () => last };
}

test('a burst of records is drawn in a few frames, never more than 20 a second', async () => {
  const { dash, frames } = open();
  try {
    await sleep(FRAME_MS * 2);
    const before = frames.length;
    const t0 = Date.now();
    for (let i = 0; i < 20_000; i++) dash.push(proc(1000 + (i % 500), 'attach'));
    await sleep(300);
    const n = frames.length - before;
    const secs = (Date.now() - t0) / 1000;
    assert.ok(n >= 1, 'drawn at least once');
    assert.ok(n <= Math.ceil(secs * 20) + 1, `${n} frames in ${secs} s`);
  } finally {
    dash.destroy();
  }
});

test('q shows "detaching" until onQuit resolves, then restores and resolves closed', async () => {
  let release!: () => void;
  let calls = 0;
  const { dash, input, out, screen } = open({ onQuit: () => { calls++; return new Promise<void>((r) => { release = r; }); } });
  try {
    let closed: string | null = null;
    void dash.closed.then((v) => { closed = v; });
    input.write('q');
    await until('onQuit', () => calls === 1);
    await until('the detaching message', () => screen().includes('detaching'));
    input.write('q');
    await sleep(20);
    assert.is(calls, 1, 'onQuit once');
    assert.is(closed, null);
    release();
    await until('closed', () => closed !== null);
    assert.is(closed, 'quit');
    assert.ok(out.text.includes('\x1b[?1049l') || out.text.includes('\x1b[?47l'), 'left the alternate screen');
  } finally {
    dash.destroy();
  }
});

test('e writes the state as NDJSON into the directory and says where', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-app-'));
  const { dash, input, screen } = open({ exportDir: dir });
  try {
    for (const r of seedRecords()) dash.push(r);
    input.write('e');
    await until('the files', () => fs.readdirSync(dir).filter((f) => f.startsWith('fdwatch-state-')).length === 2);
    const file = fs.readdirSync(dir).find((f) => f.startsWith('fdwatch-state-') && f.endsWith('.ndjson'))!;
    const recs = fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.is(recs[recs.length - 1]!.type, 'summary');
    assert.is(recs.filter((r) => r.type === 'process').length, 2);
    assert.is(recs.filter((r) => r.type === 'transfer').length, 1);
    // and the graph beside it: Graphviz parses it, one transfer edge
    const dot = path.join(dir, file.replace(/\.ndjson$/, '.dot'));
    assert.is((fs.readFileSync(dot, 'utf8').match(/class="transfer"/g) ?? []).length, 1);
    assert.is(spawnSync('dot', ['-Tsvg', dot]).status, 0);
    await until('the path in the status bar', () => screen().includes(`to ${path.join(dir, file)}`));
  } finally {
    dash.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live status: the command\'s end and the JSON destination show in the status bar', async () => {
  const { dash, screen } = open();
  try {
    dash.status({ source: 'pid 42', strace: 'ended', traced: 0, commandExit: { code: 3, signal: null }, json: 'out.ndjson' });
    await until('the exit status', () => screen().includes('command exited with status 3') && screen().includes('json: out.ndjson'));
    dash.status({ commandExit: { code: null, signal: 'SIGKILL' } });
    await until('the signal', () => screen().includes('command killed by SIGKILL'));
  } finally {
    dash.destroy();
  }
});

test.run();
