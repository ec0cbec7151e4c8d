// Panels and the screen as text: layout at every size, escaping of traced text, ASCII and NO_COLOR output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialState, PANELS, type State } from '../../src/tui/state.js';
import { reduce } from '../../src/tui/store.js';
import { layout } from '../../src/tui/layout.js';
import { HIGHLIGHT_MS, mapRows, panelRows, processRows, fdRows, transferRows, alertRows } from '../../src/tui/panels.js';
import { renderScreen, frameText } from '../../src/tui/screen.js';
import { frameTags, keyName } from '../../src/tui/app.js';
import { ALT, KEEP, SUFFIX, clean, columnWidths, fit, shortenMiddle, type Column } from '../../src/tui/text.js';
import { stateRecords } from '../../src/tui/export.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { alert, fd, map, proc, seedRecords, transfer } from './records.js';
import { runTrace } from '../helpers.js';
import { root } from '../paths.js';
import fs from 'node:fs';
import path from 'node:path';

function feed(s: State, rs: FdwatchRecord[]): State {
  for (const r of rs) reduce(s, { type: 'record', record: r });
  return s;
}

const EVIL = '/tmp/\x1b[31mred\x1b]0;pwned\x07\n\r\t\x9b2J{bold}\u202eevil';

function evilState(opts: Parameters<typeof initialState>[0] = {}): State {
  const s = initialState({ now: 1000, ...opts });
  return feed(s, [
    proc(1, 'attach', { comm: 'a\x1bb{red-fg}' }),
    proc(2, 'fork', { ppid: 1, comm: 'c\x07d' }),
    fd(1, 3, 'open', EVIL), fd(2, 4, 'receive', EVIL, { fromPid: 1, fromFd: 3 }),
    transfer([1, 3, 'a\x1bb'], [2, 4, 'c\x07d'], EVIL, { reason: 'x\x1by' }),
    transfer([1, 3, 'a\x1bb'], null, EVIL, { state: 'lost', reason: 'MSG_CTRUNC\x1b' }),
    map(2, '0x7f0000000000', EVIL, { transferred: true }),
    alert(1, `fd 3 (${EVIL}) leaked`),
  ]);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

test('control characters from traced programs never reach rows, frames or blessed tags unescaped', () => {
  const s = evilState({ cols: 200, rows: 40 });
  for (const pid of [1, 2]) {
    s.sel.pid = pid;
    // SUFFIX (NUL) and ALT (\x01) are the layout's own separators: escapeControl leaves none in traced text
    for (const id of PANELS) for (const r of panelRows(s, id)) for (const c of r.cells) assert.not.ok(CONTROL.test(c.replace(SUFFIX, "").replace(ALT, "").replace(KEEP, "")), `${id}: ${JSON.stringify(c)}`);
  }
  s.sel.pid = 2;
  const f = renderScreen(s);
  for (const l of frameText(f)) assert.not.ok(CONTROL.test(l), JSON.stringify(l));
  const tags = frameTags(f, true);
  for (const l of tags.split('\n')) assert.not.ok(CONTROL.test(l), JSON.stringify(l));
  // blessed tag syntax from a traced name is shown, not interpreted
  assert.not.ok(tags.includes('{bold}evil'));
  assert.ok(tags.includes('{open}bold{close}') || !frameText(f).join('').includes('{bold}'));
  assert.ok(frameText(f).join('\n').includes('\\x1b]0;pwned\\x07\\n\\r\\t\\x9b2J{bold}\\u{202e}evil'));
  // details overlays too
  reduce(s, { type: 'key', key: 'tab' });
  reduce(s, { type: 'key', key: 'enter' });
  for (const l of s.overlay?.lines ?? []) assert.not.ok(CONTROL.test(l), l);
});

test('clean(): escapes, keeps one column per character, ASCII-only without a UTF-8 locale', () => {
  assert.is(clean('a\x1b\n', true), 'a\\x1b\\n');
  assert.is(clean('\u202eevil', true), '\\u{202e}evil');
  assert.is(clean('caf\u00e9 \u2192', true), 'caf\u00e9 \u2192');
  assert.is(clean('caf\u00e9 \u2192', false), 'caf\\xe9 \\u{2192}');
  assert.is(clean('\u4e2d', true), '\\u{4e2d}');
  assert.is(clean(null, true), '?');
});

test('without Unicode (LANG=C) the whole screen is ASCII: arrows, tree, separators, bars', () => {
  const s = feed(initialState({ now: 1000, unicode: false, replay: true }), seedRecords());
  reduce(s, { type: 'replay', replay: { position: 27, total: 27, playing: false, speed: 1, done: true } });
  reduce(s, { type: 'key', key: 'up' });
  const text = frameText(renderScreen(s)).join('\n');
  assert.ok(/^[\x20-\x7e\n]*$/.test(text), 'non-ASCII output');
  assert.ok(text.includes('--SCM_RIGHTS->'));
  assert.ok(text.includes('`-'));
  const u = feed(initialState({ now: 1000 }), seedRecords());
  assert.ok(frameText(renderScreen(u)).join('\n').includes('\u2500SCM_RIGHTS\u2192'));
});

test('NO_COLOR: blessed tags carry attributes only, no colours', () => {
  const s = evilState({ color: false });
  const tags = frameTags(renderScreen(s), false);
  assert.not.ok(/\{[a-z-]*-(fg|bg)\}/.test(tags));
  assert.ok(tags.includes('{inverse}'));
  assert.ok(/\{[a-z]+-fg\}/.test(frameTags(renderScreen(evilState()), true)));
});

test('every size renders exactly cols x rows, from 80x24 up to a large terminal, and tiny ones do not throw', () => {
  for (const [c, r] of [[80, 24], [100, 30], [132, 43], [250, 80], [60, 15], [20, 5], [1, 1]] as const) {
    const s = evilState();
    reduce(s, { type: 'resize', cols: c, rows: r });
    reduce(s, { type: 'key', key: '?' });
    const lines = frameText(renderScreen(s));
    assert.is(lines.length, r);
    for (const l of lines) assert.is(l.length, c);
  }
  const L = layout(80, 24);
  for (const id of PANELS) {
    const p = L[id];
    assert.ok(p.h >= 3, `${id} too short at 80x24`);
    assert.ok(p.x >= 0 && p.x + p.w <= 80 && p.y >= 1 && p.y + p.h <= 23, id);
  }
  const big = layout(250, 80);
  assert.ok(big.fds.w > 140 && big.transfers.h > 20, 'a large terminal gives the panels its space');
});

test('80x24 shows each panel with its title and the seed transfer in one line', () => {
  const s = feed(initialState({ now: 1000 }), seedRecords());
  const text = frameText(renderScreen(s));
  for (const t of ['Processes 2', 'FD table', 'Transfers 1: 1 delivered', 'Maps', 'Alerts 0']) assert.ok(text.some((l) => l.includes(t)), t);
  const line = text.find((l) => l.includes('SCM_RIGHTS'))!;
  assert.match(line, /seed\[\d+\] fd 3 +\u2500SCM_RIGHTS\u2192 seed\[\d+\] fd 4 +\/etc\/hostname/);
  assert.ok(text[23]!.includes('? help'));
});

test('columns: widths fit the panel, optional ones drop first, flex ones take the rest', () => {
  const cols: Column[] = [{ title: 'A', min: 4 }, { title: 'B', min: 6, flex: 1 }, { title: 'C', min: 10, drop: 1 }, { title: 'D', min: 5, showAt: 60 }];
  assert.equal(columnWidths(cols, 40), [4, 24, 10, 0]);
  assert.equal(columnWidths(cols, 15), [4, 10, 0, 0]);
  const w = columnWidths(cols, 80);
  assert.is(w.reduce((a, b) => a + b, 0) + 3, 80);
  assert.is(fit('/very/long/path/name', 10, 'start'), '~path/name');
  assert.is(fit('abcdef', 4), 'abc~');
});

test('processes: a tree, threads folded until unfolded, exited ones dim', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'init' }), proc(2, 'fork', { ppid: 1 }), proc(3, 'fork', { ppid: 2 }), proc(4, 'fork', { ppid: 1 }),
    fd(2, 3, 'open', '/a', { tid: 20 }), fd(2, 3, 'seen', '/a', { tid: 21 }), proc(4, 'exit', { exitCode: 1 }),
  ]);
  const rows = processRows(s);
  assert.equal(rows.map((r) => r.cells[0]), ['1', '\u251c\u25002', '\u2502 \u2514\u25003', '\u2514\u25004']);
  assert.ok(rows[1]!.cells[1]!.includes('+2 thr'));
  assert.is(rows[3]!.style, 'dim');
  assert.is(rows[3]!.cells[5], 'exit 1');
  s.sel.pid = 2;
  s.focus = 'processes';
  reduce(s, { type: 'key', key: 'right' });
  assert.equal(processRows(s).filter((r) => r.key === null).map((r) => r.cells[0]), ['\u2502   20', '\u2502   21']);
});

test('processes: a receiver outside the traced set is "untraced" with fds "?", not running with 0 fds', () => {
  // nginx's master (traced) hands a new worker's channel to an old worker it was attached without
  const s = feed(initialState(), [proc(1, 'attach', { comm: 'nginx' }), transfer([1, 3, 'nginx'], [9, 7, 'nginx'], 'UNIX-STREAM:[5->6]', )]);
  const row = processRows(s).find((r) => r.key === 9)!;
  assert.ok(row, 'the receiver has a row');
  assert.is(row.cells[3], '?');
  assert.is(row.cells[5], 'untraced');
  assert.is(processRows(s).find((r) => r.key === 1)!.cells[5], 'running');
  s.sel.pid = 9;
  assert.ok(frameText(renderScreen(s)).some((l) => l.includes('Processes 2 (1 running, 1 untr')));
  s.status.strace = 'tracing';
  assert.ok(frameText(renderScreen(s)).some((l) => / traced 1 /.test(l)), 'the status bar counts the traced processes only');
  assert.ok(frameText(renderScreen(s)).some((l) => l.includes('not traced: no open fds known')));
});

test('fd table: new fds highlighted for a few seconds, closed ones shown marked then gone', () => {
  const s = feed(initialState({ now: 10_000 }), [proc(1, 'attach'), fd(1, 3, 'open', '/a'), fd(1, 4, 'open', '/b', { cloexec: true })]);
  s.sel.pid = 1;
  assert.equal(fdRows(s).map((r) => [r.cells[0], r.style, r.cells[3]]), [['+', 'new', '-'], ['+', 'new', 'x']]);
  reduce(s, { type: 'tick', now: 10_000 + HIGHLIGHT_MS + 1 });
  feed(s, [fd(1, 3, 'close', '/a')]);
  const rows = fdRows(s);
  assert.equal(rows.map((r) => [r.cells[0], r.cells[1], r.style]), [[' ', '4', 'normal'], ['-', '3', 'closed']]);
  reduce(s, { type: 'tick', now: 20_000 + 2 * HIGHLIGHT_MS });
  assert.is(fdRows(s).length, 1);
});

test('transfers: in-flight and lost marked; maps from a transferred fd marked; alerts listed', () => {
  const s = feed(initialState(), [
    proc(1, 'attach'), proc(2, 'attach'),
    transfer([1, 3, 'a'], null, '/x', { line: 1 }),
    transfer([1, 4, 'a'], null, '/y', { state: 'lost', reason: 'MSG_CTRUNC', line: 2 }),
    transfer([1, 5, 'a'], [2, 6, 'b'], '/z', { via: 'pidfd_getfd' }),
    map(2, '0x1000', '/var/cache/nscd/passwd', { transferred: true }), map(2, '0x2000', '/lib/libc.so.6', { transferred: false }),
    alert(2, 'fd 5 lost'),
  ]);
  reduce(s, { type: 'tick', now: HIGHLIGHT_MS + 1 }); // past the "new" highlight
  const t = transferRows(s);
  assert.equal(t.map((r) => [r.cells[0], r.style]), [['~', 'warn'], ['!', 'alert'], [' ', 'normal']]);
  assert.ok(t[0]!.cells[5]!.includes('[IN FLIGHT]'));
  assert.ok(t[1]!.cells[5]!.includes('[LOST: MSG_CTRUNC]'));
  assert.is(t[2]!.cells[3], '\u2500pidfd_getfd\u2192');
  s.sel.pid = 2;
  assert.equal(mapRows(s).map((r) => [r.cells[0], r.style]), [['*', 'mark'], [' ', 'normal']]);
  assert.is(alertRows(s).length, 1);
});

test('export: processes with their open fds (at exit for exited ones, as shown) and maps, exited ones as exit records, a summary last', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'nscd' }), proc(2, 'attach', { comm: 'getent' }),
    fd(1, 5, 'open', '/var/cache/nscd/passwd'), fd(2, 4, 'receive', '/var/cache/nscd/passwd', { fromPid: 1, fromFd: 5 }),
    map(2, '0x1000', '/var/cache/nscd/passwd', { transferred: true }), fd(2, 9, 'open', '/tmp/x'), fd(2, 9, 'close', '/tmp/x'),
    proc(3, 'attach'), fd(3, 1, 'open', '/q'), proc(3, 'exit', { exitCode: 0 }),
  ]);
  const recs = stateRecords(s.model, 'test');
  const types = recs.map((r) => r.type);
  assert.is(types[types.length - 1], 'summary');
  const fds = recs.filter((r) => r.type === 'fd');
  assert.equal(fds.map((r) => (r.type === 'fd' ? [r.pid, r.fd, r.op, r.fromPid ?? null] : null)), [[1, 5, 'snapshot', null], [2, 4, 'snapshot', 1], [3, 1, 'snapshot', null]]);
  const p3 = recs.find((r) => r.type === 'process' && r.pid === 3);
  assert.is(p3?.type === 'process' ? p3.event : null, 'exit');
  assert.is(recs.filter((r) => r.type === 'map').length, 1);
});

test('keys from blessed: named keys, Shift-Tab, Ctrl-C, printable characters; return is not counted twice', () => {
  assert.is(keyName(undefined, { name: 'up' }), 'up');
  assert.is(keyName('\t', { name: 'tab', shift: true }), 'S-tab');
  assert.is(keyName('\x03', { name: 'c', ctrl: true }), 'C-c');
  assert.is(keyName('/', { name: undefined }), '/');
  assert.is(keyName(' ', { name: 'space' }), ' ');
  assert.is(keyName('\r', { name: 'return' }), null);
  assert.is(keyName('\r', { name: 'enter' }), 'enter');
  assert.is(keyName('\x1b', { name: 'escape' }), 'escape');
});

test.run();

// issue 15: what an htop user expects at 80x24 and at 160 columns
function busyState(cols: number, rows: number): State {
  const s = initialState({ now: 1000, cols, rows });
  return feed(s, [
    proc(2469, 'attach', { comm: 's6-fdholderd' }),
    proc(2470, 'fork', { ppid: 2469, comm: 's6-svscan-helper' }),
    proc(2471, 'fork', { ppid: 2469, comm: 'sshd-session' }),
    fd(2469, 7, 'open', 'pipe:[265631]'),
    fd(2470, 9, 'open', 'UNIX-STREAM:[255432->255431]'),
    fd(2470, 10, 'open', '/var/lib/some/very/long/directory/name/that/goes/on/service-config.json'),
    transfer([2469, 7, 's6-fdholderd'], [2470, 11, 's6-svscan-helper'], 'pipe:[265631]'),
    transfer([2471, 4, 'sshd-session'], [2470, 12, 's6-svscan-helper'], 'TCP:[127.0.0.1:2222->127.0.0.1:57234]'),
    proc(2471, 'exit', { exitCode: 255 }),
  ]);
}

test('80x24: pids are never cut, targets keep their inodes and file names', () => {
  const s = busyState(80, 24);
  s.sel.pid = 2470;
  const text = frameText(renderScreen(s)).join('\n');
  for (const pid of ['[2469] fd 7', '[2470] fd 11', '[2471] fd 4', '[2470] fd 12']) assert.ok(text.includes(pid), `${pid}\n${text}`);
  assert.match(text, /pipe:\[265631\]/);
  assert.match(text, /TCP:\[12.*57234\]/); // shortened in the middle, both ends kept
  // the fd table keeps the socket's inodes and the file's name
  assert.match(text, /\[255432->255431\]/);
  assert.match(text, /~\/service-config\.json|\u2026\/service-config\.json/);
});

test('160x40: the fd table shows socket targets whole; exit 255 shows whole', () => {
  const s = busyState(160, 40);
  s.sel.pid = 2470;
  const text = frameText(renderScreen(s)).join('\n');
  assert.match(text, /UNIX-STREAM:\[255432->255431\]/);
  assert.match(text, /s6-fdholderd\[2469\] fd 7/);
  assert.match(text, /exit 255│/); // the STATE column, whole
});

test('shortenMiddle keeps a path\'s file name and a socket\'s brackets', () => {
  assert.is(shortenMiddle('/a/very/long/path/to/file.txt', 16, '~'), '/a/ver~/file.txt');
  assert.is(shortenMiddle('UNIX-STREAM:[255432->255431]', 20, '~'), 'UNI~[255432->255431]');
  assert.is(shortenMiddle('TCP:[127.0.0.1:2222->127.0.0.1:57234]', 25, '~'), 'TCP:[127.0.0~0.0.1:57234]');
  assert.is(shortenMiddle('short', 25, '~'), 'short');
});

test('export holds the transfers and alerts: fed back into a dashboard it shows the same view (nscd, send_fds fixtures)', () => {
  for (const name of ['nscd', 'send_fds']) exportRoundTrip(name);
});

function exportRoundTrip(name: string): void {
  const recs = runTrace(fs.readFileSync(path.join(root, 'fixtures', 'traces', name, 'f-yy.log'), 'latin1')).records;
  const a = feed(initialState({ now: 1000, cols: 160, rows: 50 }), recs);
  const out = stateRecords(a.model, 'test');
  const b = feed(initialState({ now: 1000, cols: 160, rows: 50 }), out);
  const cells = (s: State, rows: (s: State) => Array<{ cells: string[] }>): string[][] => rows(s).map((r) => [...r.cells]);
  const transfersIn = recs.filter((r) => r.type === 'transfer').length;
  assert.ok(transfersIn > 0);
  assert.is(out.filter((r) => r.type === 'transfer').length, a.model.transfers.length);
  assert.equal(cells(b, transferRows), cells(a, transferRows));
  if (name === 'send_fds') assert.ok(cells(a, alertRows).length > 0, 'the fixture has alerts');
  assert.equal(cells(b, alertRows), cells(a, alertRows));
  assert.equal(cells(b, processRows), cells(a, processRows)); // S/R counts and states too
}

test('exited processes fold away 10 s after they exit (x shows them); the status bar counts the running ones', () => {
  const s = initialState({ now: 1000, cols: 160, rows: 60 });
  reduce(s, { type: 'status', status: { strace: 'tracing', traced: 1 } });
  const rs: FdwatchRecord[] = [proc(1, 'attach', { comm: 'demo' })];
  // a demo round: a worker and its grandchild; the workers exit, one stays
  for (let i = 0; i < 50; i++) rs.push(proc(100 + i, 'fork', { ppid: 1, comm: 'worker' }));
  rs.push(proc(200, 'fork', { ppid: 149, comm: 'grandchild' }));
  for (let i = 0; i < 49; i++) rs.push(proc(100 + i, 'exit', { exitCode: 0 }));
  rs.push(proc(149, 'exit', { exitCode: 0 }));
  feed(s, rs);
  const pids = (): string[] => processRows(s).map((r) => r.cells[0]!.replace(/[^0-9]/g, ''));
  assert.is(pids().length, 52, 'just exited: all shown');
  assert.match(frameText(renderScreen(s)).join(''), /traced 2 \|/); // demo and grandchild, not the tracer's stale 1
  reduce(s, { type: 'tick', now: 1000 + 10_000 });
  // 149 exited too, but stays: its child still runs and the tree keeps its shape
  assert.equal(pids(), ['1', '149', '200']);
  assert.match(frameText(renderScreen(s)).join('\n'), /Processes 52 \(2 running, 49 exited folded: x\)/);
  reduce(s, { type: 'key', key: 'x' });
  assert.is(pids().length, 52);
  reduce(s, { type: 'key', key: 'x' });
  assert.is(pids().length, 3);
  // a selected process stays, and a filter shows what it matches, exited or not
  s.sel.pid = 120;
  assert.ok(pids().includes('120'));
  s.sel.pid = null;
  s.filter = 'p1'; // the exit records name the workers p100...p149
  assert.is(pids().length, 51); // the 50 workers and their parent
  s.filter = '';
  reduce(s, { type: 'status', status: { strace: 'ended' } });
  assert.not.match(frameText(renderScreen(s)).join(''), /traced/);
});
