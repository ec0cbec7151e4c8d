// The real dashboard in tmux: replay the fork + socketpair program's trace, then type at it and read the screen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const SOCK = `fdwatch-e2e-${process.pid}`;
const ENTRY = path.join(root, 'dist', 'test', 'tui', 'entry.js');
const TRACE = path.join(root, 'fixtures', 'traces', 'seed', 'f-yy.log');
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-tui-'));

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-u', '-L', SOCK, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' } });
}

function capture(name: string, escapes = false): string {
  return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name);
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let socketPath: string | null = null;

let kept = false;

function start(name: string, cols: number, rows: number, env: string, args: string[], script = ENTRY): void {
  // a session that lives as long as the file: the server must not exit (and race the next new-session) each time
  // a test kills its own last session
  if (!kept) { tmux('new-session', '-d', '-s', 'keep', 'sleep 600'); kept = true; }
  const cmd = `cd ${q(tmp)} && env ${env} ${q(process.execPath)} ${q(script)} ${args.map(q).join(' ')}; echo EXIT=$?; sleep 120`;
  tmux('new-session', '-d', '-x', String(cols), '-y', String(rows), '-s', name, cmd);
  socketPath ??= tmux('display-message', '-p', '-t', name, '#{socket_path}').trim();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls the pane until `pred` holds (bounded by a deadline, not a fixed sleep). */
async function waitFor(name: string, what: string, pred: (screen: string) => boolean, ms = 10_000): Promise<string> {
  const end = Date.now() + ms;
  let screen = '';
  while (Date.now() < end) {
    screen = capture(name);
    if (pred(screen)) return screen;
    await sleep(40);
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
}

function keys(name: string, ...ks: string[]): void {
  tmux('send-keys', '-t', name, ...ks);
}

function literal(name: string, text: string): void {
  tmux('send-keys', '-t', name, '-l', text);
}

/** alternate screen off, cursor shown, mouse reporting off: the terminal is back as it was. */
function assertRestored(name: string): void {
  const flags = tmux('display-message', '-p', '-t', name, '#{alternate_on} #{cursor_flag} #{mouse_any_flag}').trim();
  assert.is(flags, '0 1 0', 'alternate screen, cursor, mouse');
}

const UTF8 = '-u NO_COLOR -u LC_ALL -u LC_CTYPE LANG=C.UTF-8';
const ASCII = 'LANG=C LC_ALL=C NO_COLOR=1';

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;]*)m/g;
function colourCodes(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(SGR)) {
    for (const p of m[1]!.split(';')) {
      const n = Number(p);
      if ((n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107)) out.push(p);
    }
  }
  return out;
}

test('UTF-8 at 100x30: the transfer shows; mouse selects; filter, pause, export, resize to 80x24, quit', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  const s = 'utf8';
  start(s, 100, 30, UTF8, [TRACE]);
  try {
    const screen = await waitFor(s, 'the replay to finish', (x) => x.includes('27/27') && x.includes('done') && x.includes('SCM_RIGHTS'));
    const m = /seed\[(\d+)\] fd 3 +\u2500SCM_RIGHTS\u2192 seed\[(\d+)\] fd 4 +\/etc\/hostname/.exec(screen);
    assert.ok(m, screen);
    const [parent, child] = [m![1]!, m![2]!];
    assert.ok(screen.includes(`\u2514\u2500${child}`), 'the child under its parent');
    assert.ok(colourCodes(capture(s, true)).length > 0, 'colour without NO_COLOR');

    // mouse: press and release on the child's row (SGR 1006 report, 1-based): processes rows start at y 3
    literal(s, '\x1b[<0;4;5M\x1b[<0;4;5m');
    await waitFor(s, 'the click to select the child', (x) => x.includes(`FD table: seed[${child}]`));

    keys(s, '/');
    literal(s, parent);
    keys(s, 'Enter');
    const filtered = await waitFor(s, 'the filter', (x) => x.includes(`filter "${parent}"`));
    assert.not.ok(filtered.includes(`\u2514\u2500${child}`), 'the child is filtered out of the tree');
    assert.ok(filtered.split('\n').some((l) => l.startsWith(parent)));

    keys(s, 'p');
    await waitFor(s, 'PAUSED', (x) => x.includes('PAUSED'));

    keys(s, 'e');
    const ex = await waitFor(s, 'the export path', (x) => /written to \.\/fdwatch-state-[\d-]+\.ndjson/.test(x));
    const file = /written to \.\/(fdwatch-state-[\d-]+\.ndjson)/.exec(ex)![1]!;
    const recs = fs.readFileSync(path.join(tmp, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; pid?: number; transfers?: { delivered: number } });
    assert.equal(recs.filter((r) => r.type === 'process').map((r) => r.pid).sort(), [Number(parent), Number(child)].sort());
    assert.is(recs[recs.length - 1]!.type, 'summary');
    assert.is(recs[recs.length - 1]!.transfers!.delivered, 1);

    tmux('resize-window', '-t', s, '-x', '80', '-y', '24');
    const small = await waitFor(s, 'a redraw at 80x24', (x) => {
      const ls = x.split('\n');
      return ls.length >= 24 && ls[23]!.includes('? help') && ls[0]!.includes('fdwatch');
    });
    for (const l of small.split('\n')) assert.ok(l.length <= 80, l);
    assert.ok(small.includes('Transfers 1'));

    keys(s, 'q');
    const after = await waitFor(s, 'exit', (x) => x.includes('EXIT=0'));
    assert.not.ok(after.includes('Processes'), 'the dashboard is gone from the screen');
    assert.ok(after.includes('summary:'), 'the summary is printed after the dashboard closes');
    assertRestored(s);
  } finally {
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test('LANG=C NO_COLOR=1 at 80x24: ASCII only, no colours, --json written alongside, SIGTERM restores the terminal', async () => {
  assert.ok(haveTmux, 'tmux');
  const s = 'ascii';
  const pidfile = path.join(tmp, 'ascii.pid');
  start(s, 80, 24, `${ASCII} FDWATCH_TEST_PIDFILE=${q(pidfile)}`, [TRACE, 'out.ndjson']);
  try {
    const screen = await waitFor(s, 'the replay to finish', (x) => x.includes('27/27') && x.includes('--SCM_RIGHTS->'));
    assert.ok(/^[\x20-\x7e\n]*$/.test(screen), `non-ASCII on screen:\n${screen}`);
    assert.equal(colourCodes(capture(s, true)), [], 'NO_COLOR');
    assert.ok(screen.includes('json: out.ndjson'));
    keys(s, '?');
    await waitFor(s, 'the help', (x) => x.includes('pause/resume the view'));
    keys(s, 'Escape');
    await waitFor(s, 'the help to close', (x) => !x.includes('pause/resume the view'));
    process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGTERM');
    const after = await waitFor(s, 'exit after SIGTERM', (x) => x.includes('EXIT=143'));
    assert.not.ok(after.includes('Processes'));
    assertRestored(s);
    const out = fs.readFileSync(path.join(tmp, 'out.ndjson'), 'utf8').trim().split('\n');
    assert.is((JSON.parse(out[out.length - 1]!) as { type: string }).type, 'summary');
  } finally {
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test('live: fdwatch -- the fork + socketpair program; the transfer shows, filter, pause, export, and the dashboard stays until q', async () => {
  assert.ok(haveTmux, 'tmux');
  const s = 'live';
  const seed = path.join(tmp, 'seed');
  execFileSync('cc', ['-O1', '-o', seed, path.join(root, 'fixtures', 'programs', 'seed.c')]);
  start(s, 100, 30, UTF8, ['--json', 'live.ndjson', '--', seed], path.join(root, 'bin', 'fdwatch.js'));
  try {
    const screen = await waitFor(s, 'the transfer and the command\'s end', (x) => x.includes('SCM_RIGHTS') && x.includes('command exited with status 0'));
    const m = /seed\[(\d+)\] fd 3 +\u2500SCM_RIGHTS\u2192 seed\[(\d+)\] fd 4 +\/etc\/hostname/.exec(screen);
    assert.ok(m, screen);
    keys(s, '/');
    literal(s, m![2]!);
    keys(s, 'Enter');
    await waitFor(s, 'the filter', (x) => x.includes(`matching "${m![2]!}"`));
    keys(s, 'p');
    await waitFor(s, 'PAUSED', (x) => x.includes('PAUSED'));
    keys(s, 'e');
    const ex = await waitFor(s, 'the export path', (x) => /written to \.\/fdwatch-state-[\d-]+\.ndjson/.test(x));
    const file = /written to \.\/(fdwatch-state-[\d-]+\.ndjson)/.exec(ex)![1]!;
    assert.is((JSON.parse(fs.readFileSync(path.join(tmp, file), 'utf8').trim().split('\n').pop()!) as { type: string }).type, 'summary');
    keys(s, 'q');
    const after = await waitFor(s, 'exit', (x) => /EXIT=\d+/.test(x));
    assert.ok(after.includes('EXIT=0'), after);
    assertRestored(s);
    // the command's own output is kept, and named once the terminal is back
    const log = /fdwatch: the command's output is in (\S+?\.log)/.exec(after.replace(/\n/g, ''));
    assert.ok(log, after);
    assert.match(fs.readFileSync(log![1]!, 'utf8'), /parent done/);
    fs.rmSync(log![1]!);
    const recs = fs.readFileSync(path.join(tmp, 'live.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; state?: string });
    assert.equal(recs.filter((r) => r.type === 'transfer').map((r) => r.state), ['delivered']);
    assert.is(recs[recs.length - 1]!.type, 'summary');
  } finally {
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test('live: a command that writes nothing leaves no command log behind', async () => {
  assert.ok(haveTmux, 'tmux');
  const s = 'quiet';
  const own = fs.mkdtempSync(path.join(tmp, 'tmpdir-'));
  start(s, 100, 30, `${UTF8} TMPDIR=${q(own)}`, ['--', '/bin/true'], path.join(root, 'bin', 'fdwatch.js'));
  try {
    await waitFor(s, 'the command\'s end', (x) => x.includes('command exited with status 0'));
    keys(s, 'q');
    const after = await waitFor(s, 'exit', (x) => /EXIT=\d+/.test(x));
    assert.ok(after.includes('EXIT=0'), after);
    assert.not.match(after, /command's output is in/);
    assert.equal(fs.readdirSync(own), []);
  } finally {
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test('a crash restores the terminal and leaves the error readable', async () => {
  assert.ok(haveTmux, 'tmux');
  const s = 'crash';
  start(s, 80, 24, `${UTF8} FDWATCH_TEST_CRASH=1`, [TRACE]);
  try {
    const after = await waitFor(s, 'exit after the crash', (x) => /EXIT=[1-9]/.test(x));
    assert.ok(after.includes('fdwatch test crash'), after);
    assert.not.ok(after.includes('Processes'));
    assertRestored(s);
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    if (socketPath) fs.rmSync(socketPath, { force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
