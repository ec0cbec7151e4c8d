// Selection, focus, follow and pause: the view-state steps that the keymap and the mouse share.
import { cloneModel, findTransfer } from '../view/model.js';
import { layout } from './layout.js';
import { panelRows } from './panels.js';
import { PANELS, selectedKey, viewModel, type PanelId, type RowKey, type State } from './state.js';

/** Selects the newest transfer, alert and the process of the newest event (what "following" shows). */
export function follow(s: State): void {
  const m = s.model;
  const t = m.transfers.last();
  if (t) s.sel.transfer = t.seq;
  const a = m.alerts.last();
  if (a) s.sel.alert = a.seq;
  if (m.lastPid !== null) s.sel.pid = m.lastPid;
}

/** Freezes the view on a copy of the model (records keep coming into the model), or thaws it. */
export function pause(s: State, on: boolean): void {
  if (on === s.paused) return;
  s.paused = on;
  if (on) {
    s.frozen = cloneModel(s.model);
    s.pendingWhilePaused = 0;
  } else {
    s.frozen = null;
    s.pendingWhilePaused = 0;
    if (s.following) follow(s);
  }
}

export function setSelected(s: State, panel: PanelId, key: RowKey): void {
  switch (panel) {
    case 'processes':
      if (typeof key === 'number') {
        if (key !== s.sel.pid) { s.sel.pid = key; s.sel.fd = null; s.sel.map = null; }
        s.fdView = 'process';
      }
      return;
    case 'fds':
      if (typeof key === 'number' || key === null) s.sel.fd = key;
      else if (typeof key === 'string') {
        // transfer mode rows are "pid:fd": the fd belongs to one of the two processes
        const [pid, fd] = key.split(':').map(Number);
        if (pid !== undefined && fd !== undefined && Number.isFinite(fd)) { s.sel.fd = fd; s.sel.pid = pid; }
      }
      return;
    case 'transfers':
      if (typeof key === 'number') {
        s.sel.transfer = key;
        s.fdView = 'transfer';
        const t = findTransfer(viewModel(s), key);
        if (t) { s.sel.pid = t.rec.to?.pid ?? t.rec.from.pid ?? s.sel.pid; s.sel.fd = t.rec.to?.fd ?? null; }
      }
      return;
    case 'maps':
      if (typeof key === 'string') s.sel.map = key;
      return;
    case 'alerts':
      if (typeof key === 'number') {
        s.sel.alert = key;
        const a = viewModel(s).alerts.toArray().find((x) => x.seq === key);
        if (a && a.rec.pid !== null) { s.sel.pid = a.rec.pid; s.sel.fd = a.rec.fd; }
      }
      return;
  }
}

/** Moves the selection of the focused panel by rows, or to its first or last row. */
export function move(s: State, delta: number | 'home' | 'end'): void {
  const rows = panelRows(s, s.focus).filter((r) => r.key !== null);
  if (rows.length === 0) return;
  const cur = selectedKey(s, s.focus);
  let i = rows.findIndex((r) => r.key === cur);
  if (delta === 'home') i = 0;
  else if (delta === 'end') i = rows.length - 1;
  else if (i < 0) i = delta > 0 ? 0 : rows.length - 1;
  else i = Math.max(0, Math.min(rows.length - 1, i + delta));
  setSelected(s, s.focus, rows[i]!.key);
  // moving by hand stops following, except landing on the newest row of a log
  s.following = (s.focus === 'transfers' || s.focus === 'alerts') && i === rows.length - 1 && delta !== 0 && s.following;
}

/** Rows in one page of the focused panel. */
export function pageSize(s: State): number {
  const r = layout(s.cols, s.rows)[s.focus];
  return Math.max(1, r.h - 2);
}

export function cycleFocus(s: State, d: number): void {
  const i = PANELS.indexOf(s.focus);
  s.focus = PANELS[(i + d + PANELS.length) % PANELS.length]!;
}
