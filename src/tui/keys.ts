// The keymap: one table of what each key does, read both by the key handler and by the help screen (`?`),
// so the two cannot disagree. Key names are the ones keyName() in app.ts makes: 'up', 'pageup', 'S-tab', 'C-c', ' ', 'q'.
import { detailLines } from './details.js';
import { LEGEND } from './panels.js';
import { cycleFocus, follow, move, pageSize, pause } from './select.js';
import type { Effect, State } from './state.js';

export interface KeyBinding {
  readonly keys: readonly string[];
  readonly run: (s: State) => void;
  /** also while the filter prompt or a box (help, details) is open */
  readonly anyMode?: boolean;
}

/** One line of the help screen: what it does, and the bindings that do it (up and down are two bindings of one row). */
export interface KeyRow {
  readonly does: string;
  readonly bindings: readonly KeyBinding[];
  /** only in a replay: otherwise the row is not shown and its keys do nothing */
  readonly replayOnly?: boolean;
}

const replay = (op: Extract<Effect, { kind: 'replay' }>['op']) => (s: State): void => { s.effects.push({ kind: 'replay', op }); };

export const KEYMAP: readonly KeyRow[] = [
  { does: 'move up/down', bindings: [{ keys: ['up', 'k'], run: (s) => move(s, -1) }, { keys: ['down', 'j'], run: (s) => move(s, 1) }] },
  { does: 'page up/down', bindings: [{ keys: ['pageup'], run: (s) => move(s, -pageSize(s)) }, { keys: ['pagedown'], run: (s) => move(s, pageSize(s)) }] },
  { does: 'first/last row', bindings: [{ keys: ['home', 'g'], run: (s) => move(s, 'home') }, { keys: ['end', 'G'], run: (s) => move(s, 'end') }] },
  { does: 'next/previous panel (or click a row)', bindings: [{ keys: ['tab'], run: (s) => cycleFocus(s, 1) }, { keys: ['S-tab'], run: (s) => cycleFocus(s, -1) }] },
  { does: 'details of the selected row (Esc closes)', bindings: [{ keys: ['enter'], run: openDetails }] },
  { does: 'unfold/fold a process\'s threads', bindings: [{ keys: ['right', 'l'], run: (s) => fold(s, false) }, { keys: ['left', 'h'], run: (s) => fold(s, true) }] },
  { does: 'show/fold the processes that exited over 10 s ago', bindings: [{ keys: ['x'], run: (s) => { s.showExited = !s.showExited; } }] },
  { does: 'filter by comm, pid or path (Enter keeps, Esc cancels)', bindings: [{ keys: ['/'], run: (s) => { s.editing = { text: s.filter, prev: s.filter }; } }] },
  { does: 'clear the filter', bindings: [{ keys: ['escape'], run: clearFilter }] },
  { does: 'pause/resume the view (tracing goes on)', bindings: [{ keys: ['p'], run: togglePause }] },
  { does: 'follow the newest events', bindings: [{ keys: ['f'], run: toggleFollow }] },
  { does: 'export the current state to ./fdwatch-state-*.ndjson', bindings: [{ keys: ['e'], run: (s) => { s.effects.push({ kind: 'export' }); } }] },
  { does: 'this help', bindings: [{ keys: ['?'], run: (s) => { s.overlay = { kind: 'help', title: 'Keys', lines: helpLines(s), offset: 0 }; } }] },
  { does: 'quit (detaches from the traced processes)', bindings: [{ keys: ['q'], run: quit }, { keys: ['C-c'], run: quit, anyMode: true }] },
  { does: 'replay: play/pause', replayOnly: true, bindings: [{ keys: [' '], run: replay('toggle') }] },
  { does: 'replay: one record', replayOnly: true, bindings: [{ keys: ['.'], run: replay('step') }] },
  { does: 'replay: faster/slower', replayOnly: true, bindings: [{ keys: ['+', '='], run: replay('faster') }, { keys: ['-', '_'], run: replay('slower') }] },
];

const LABELS: Readonly<Record<string, string>> = {
  pageup: 'PgUp', pagedown: 'PgDn', home: 'Home', end: 'End', tab: 'Tab', 'S-tab': 'S-Tab', enter: 'Enter',
  escape: 'Esc', backspace: 'Backspace', ' ': 'space',
};

/** How the help screen writes a key name. */
export function keyLabel(key: string): string {
  return LABELS[key] ?? (key.startsWith('C-') ? `Ctrl-${key.slice(2).toUpperCase()}` : key);
}

/** A row's keys as the help writes them, alternatives side by side: "up/down k/j" (up or k moves up, down or j down). */
export function rowLabel(r: KeyRow): string {
  const n = Math.max(...r.bindings.map((b) => b.keys.length));
  const cols: string[] = [];
  for (let i = 0; i < n; i++) cols.push(r.bindings.flatMap((b) => (b.keys[i] !== undefined ? [keyLabel(b.keys[i]!)] : [])).join('/'));
  return cols.join(' ');
}

/** The rows that apply now (replay keys only in a replay). */
export function activeRows(s: State): KeyRow[] {
  return KEYMAP.filter((r) => !r.replayOnly || s.replay !== null);
}

/** The help screen: one line per active row of the keymap, then what the panels' marks mean. */
export function helpLines(s: State): string[] {
  const rows = activeRows(s);
  const labels = rows.map(rowLabel);
  const w = Math.max(...labels.map((l) => l.length)) + 2;
  return [...rows.map((r, i) => labels[i]!.padEnd(w) + r.does), '', ...LEGEND];
}

const BY_KEY = new Map<string, { row: KeyRow; binding: KeyBinding }>();
for (const row of KEYMAP) for (const binding of row.bindings) for (const k of binding.keys) if (!BY_KEY.has(k)) BY_KEY.set(k, { row, binding });

/** What a key does in the dashboard's main mode now, if anything. */
export function bindingFor(s: State, key: string): KeyBinding | undefined {
  const hit = BY_KEY.get(key);
  if (!hit || (hit.row.replayOnly && s.replay === null)) return undefined;
  return hit.binding;
}

const PRINTABLE = /^[\x20-\x7e]$/;

/** A key: the filter prompt and an open box take keys first (their keys are on their own hint lines). */
export function onKey(s: State, key: string): void {
  const b = bindingFor(s, key);
  if (b?.anyMode) { b.run(s); return; }
  if (s.editing) { editFilter(s, key); return; }
  if (s.overlay) { overlayKey(s, key); return; }
  b?.run(s);
}

function overlayKey(s: State, key: string): void {
  const o = s.overlay!;
  if (key === 'escape' || key === 'enter' || key === 'q' || key === '?') s.overlay = null;
  else if (key === 'down' || key === 'j') o.offset = Math.min(Math.max(0, o.lines.length - 1), o.offset + 1);
  else if (key === 'up' || key === 'k') o.offset = Math.max(0, o.offset - 1);
}

function editFilter(s: State, key: string): void {
  const ed = s.editing!;
  if (key === 'enter') { s.filter = ed.text.trim(); s.editing = null; return; }
  if (key === 'escape') { s.filter = ed.prev; s.editing = null; return; }
  if (key === 'backspace') ed.text = ed.text.slice(0, -1);
  else if (key === 'C-u') ed.text = '';
  else if (key === 'space') ed.text += ' ';
  else if (PRINTABLE.test(key) && ed.text.length < 200) ed.text += key;
  // filter as you type
  s.filter = ed.text.trim();
}

// ------------------------------------------------------------------ actions

function quit(s: State): void {
  if (s.quitting) return;
  s.quitting = true;
  s.overlay = null;
  s.effects.push({ kind: 'quit' });
}

function openDetails(s: State): void {
  const d = detailLines(s);
  if (d) s.overlay = { kind: 'details', title: d.title, lines: d.lines, offset: 0 };
}

function fold(s: State, folded: boolean): void {
  if (s.focus !== 'processes' || s.sel.pid === null) return;
  if (folded) s.unfolded.delete(s.sel.pid); else s.unfolded.add(s.sel.pid);
}

function clearFilter(s: State): void {
  if (s.filter) { s.filter = ''; s.status = { ...s.status, message: 'filter cleared' }; }
}

function togglePause(s: State): void {
  pause(s, !s.paused);
  s.status = { ...s.status, message: s.paused ? 'view paused: tracing goes on (p resumes)' : 'view resumed' };
}

function toggleFollow(s: State): void {
  s.following = !s.following;
  if (s.following && !s.paused) follow(s);
  s.status = { ...s.status, message: s.following ? 'following the newest events' : 'not following' };
}
