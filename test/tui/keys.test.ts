// The keymap is the one source of truth: every key the help screen lists does what the table says, and every key
// the dashboard reacts to is in the table and on the help screen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NAMED_KEYS } from '../../src/tui/app.js';
import { KEYMAP, activeRows, bindingFor, keyLabel, type KeyBinding, type KeyRow } from '../../src/tui/keys.js';
import { initialState, type State } from '../../src/tui/state.js';
import { reduce } from '../../src/tui/store.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { alert, fd, map, proc, transfer } from './records.js';

/** Every key name keyName() (app.ts) can hand the store. */
const UNIVERSE: string[] = [
  ...NAMED_KEYS, 'S-tab',
  ...Array.from({ length: 26 }, (_, i) => `C-${String.fromCharCode(97 + i)}`),
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
];

const RECORDS: FdwatchRecord[] = [
  proc(1, 'attach', { comm: 'nscd', tid: 11 }), proc(1, 'attach', { comm: 'nscd', tid: 12 }),
  proc(2, 'fork', { ppid: 1, comm: 'getent', uid: 65534 }),
  fd(1, 5, 'open', '/var/cache/nscd/passwd'), fd(1, 6, 'open', '/etc/passwd'),
  fd(2, 4, 'receive', '/var/cache/nscd/passwd', { fromPid: 1, fromFd: 5 }),
  transfer([1, 5, 'nscd'], [2, 4, 'getent'], '/var/cache/nscd/passwd'), transfer([1, 6, 'nscd'], null, '/etc/passwd', { line: 9 }),
  map(2, '0x1000', '/var/cache/nscd/passwd', { transferred: true }), alert(2, 'fd 5 lost'),
];

/** Dashboards in different states, each built afresh on every call (so two calls are equal). */
const SCENARIOS: Record<string, () => State> = {
  'live, processes focused, a process with threads selected': () => {
    const s = initialState({ now: 1000, cols: 100, rows: 30 });
    for (const r of RECORDS) reduce(s, { type: 'record', record: r });
    s.sel.pid = 1;
    s.following = false;
    return s;
  },
  'replay, transfers focused, a filter set, unfolded': () => {
    const s = initialState({ now: 1000, cols: 100, rows: 30, replay: true });
    for (const r of RECORDS) reduce(s, { type: 'record', record: r });
    reduce(s, { type: 'replay', replay: { position: 3, total: 9, playing: true, speed: 1, done: false } });
    s.focus = 'transfers';
    s.filter = 'nscd';
    s.unfolded.add(1);
    return s;
  },
  'paused at 80x24, nothing selected yet': () => {
    const s = initialState({ now: 1000 });
    for (const r of RECORDS) reduce(s, { type: 'record', record: r });
    reduce(s, { type: 'key', key: 'p' });
    s.sel.pid = null;
    s.effects.length = 0;
    return s;
  },
};

/** Everything a key can change (the counters the renderer keeps aside). */
function view(s: State): unknown {
  return {
    focus: s.focus, fdView: s.fdView, sel: { ...s.sel }, filter: s.filter, editing: s.editing, overlay: s.overlay,
    unfolded: [...s.unfolded], showExited: s.showExited, paused: s.paused, frozen: s.frozen !== null, following: s.following,
    effects: s.effects.slice(), quitting: s.quitting, message: s.status.message ?? null,
  };
}

const byLabel = new Map(UNIVERSE.map((k) => [keyLabel(k), k]));

/** The help screen read back: key name -> the row it is listed on (by its text) and its binding's place in the row. */
function readHelp(s: State): Map<string, { does: string; index: number }> {
  reduce(s, { type: 'key', key: '?' });
  assert.is(s.overlay?.kind, 'help');
  const lines = s.overlay!.lines;
  const out = new Map<string, { does: string; index: number }>();
  for (const line of lines.slice(0, lines.indexOf(''))) {
    const m = /^(\S(?:.*?\S)?) {2,}(\S.*)$/.exec(line);
    assert.ok(m, `help line not "keys  what": ${JSON.stringify(line)}`);
    // "up/down k/j": one column per alternative, bindings side by side split by "/" ("/" alone is the key)
    for (const col of m![1]!.split(' ')) {
      const labels = col === '/' ? ['/'] : col.split('/');
      labels.forEach((label, index) => {
        const key = byLabel.get(label);
        assert.ok(key !== undefined, `help lists an unknown key "${label}" in ${JSON.stringify(line)}`);
        assert.not.ok(out.has(key!), `help lists ${label} twice`);
        out.set(key!, { does: m![2]!, index });
      });
    }
  }
  return out;
}

test('the table: each key in one binding, bindings of a row side by side, every key one keyName() makes', () => {
  const seen = new Set<string>();
  for (const row of KEYMAP) {
    const n = row.bindings[0]!.keys.length;
    for (const b of row.bindings) {
      assert.is(b.keys.length, n, `${row.does}: alternatives line up`);
      for (const k of b.keys) {
        assert.ok(UNIVERSE.includes(k), `${k} is not a key name the app makes`);
        assert.not.ok(seen.has(k), `${k} is bound twice`);
        seen.add(k);
      }
    }
  }
  assert.ok(seen.size >= 20, `${seen.size} keys`);
  assert.equal(new Set(UNIVERSE.map(keyLabel)).size, UNIVERSE.length, 'labels tell keys apart');
});

test('every key the help screen lists is the table\'s binding on that row, and every key of the table is listed', () => {
  for (const [name, make] of Object.entries(SCENARIOS)) {
    const s = make();
    const listed = readHelp(s);
    const rows = activeRows(s);
    let keys = 0;
    for (const row of rows) {
      row.bindings.forEach((b, index) => {
        for (const k of b.keys) {
          keys++;
          assert.equal(listed.get(k), { does: row.does, index }, `${name}: ${keyLabel(k)} on the help screen`);
        }
      });
    }
    assert.is(listed.size, keys, `${name}: the help lists only the table's keys`);
    const replayRows = KEYMAP.filter((r) => r.replayOnly).length;
    assert.is(rows.length, KEYMAP.length - (s.replay ? 0 : replayRows), `${name}: replay keys only in a replay`);
  }
});

test('every key does exactly what its binding in the table does, and keys not in the table do nothing', () => {
  for (const [name, make] of Object.entries(SCENARIOS)) {
    let changed = 0;
    for (const key of UNIVERSE) {
      const pressed = make();
      reduce(pressed, { type: 'key', key });
      const byTable = make();
      const b: KeyBinding | undefined = bindingFor(byTable, key);
      b?.run(byTable);
      assert.equal(view(pressed), view(byTable), `${name}: ${keyLabel(key)}`);
      const row: KeyRow | undefined = KEYMAP.find((r) => r.bindings.some((x) => x.keys.includes(key)));
      if (!b) assert.equal(view(pressed), view(make()), `${name}: ${keyLabel(key)} is in no active row and must do nothing`);
      else assert.ok(row && (!row.replayOnly || byTable.replay), `${name}: ${keyLabel(key)} works outside a replay`);
      if (JSON.stringify(view(pressed)) !== JSON.stringify(view(make()))) changed++;
    }
    assert.ok(changed >= 12, `${name}: only ${changed} keys changed anything`);
  }
});

test('with a box or the filter prompt open, only Ctrl-C of the table applies (q is a letter there)', () => {
  const s = SCENARIOS['live, processes focused, a process with threads selected']!();
  reduce(s, { type: 'key', key: '/' });
  reduce(s, { type: 'key', key: 'q' });
  assert.equal([s.editing?.text, s.quitting], ['q', false]);
  reduce(s, { type: 'key', key: 'C-c' });
  assert.ok(s.quitting);
  const t = SCENARIOS['live, processes focused, a process with threads selected']!();
  reduce(t, { type: 'key', key: '?' });
  reduce(t, { type: 'key', key: 'p' });
  assert.equal([t.overlay?.kind, t.paused], ['help', false]);
  reduce(t, { type: 'key', key: 'C-c' });
  assert.equal(t.effects, [{ kind: 'quit' }]);
});

test.run();
