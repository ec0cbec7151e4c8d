// The dashboard's store: reduce(state, event) -> state, no terminal and no I/O. Records go into the model
// (model.ts), keys through the keymap (keys.ts), clicks and the wheel select rows; effects (quit, export, replay
// control) are left in state.effects for the app to carry out.
// reduce() updates the state in place and returns it: copying a process table per event would not keep 50k events/s.
import { applyRecord } from '../view/model.js';
import { layout } from './layout.js';
import { onKey } from './keys.js';
import { follow, move, setSelected } from './select.js';
import { PANELS, type DashboardEvent, type State } from './state.js';

export function reduce(s: State, e: DashboardEvent): State {
  switch (e.type) {
    case 'record':
      applyRecord(s.model, e.record, s.now);
      if (e.record.type === 'process') noteExit(s, e.record.pid, e.record.event === 'exit');
      if (s.paused) { s.pendingWhilePaused++; return s; }
      if (s.following) follow(s);
      s.version++;
      return s;
    case 'status':
      s.status = { ...s.status, ...e.status };
      s.version++;
      return s;
    case 'tick': {
      s.now = e.now;
      const dt = e.now - s.rate.at;
      if (dt >= 1000 || s.rate.at === 0) {
        const n = s.model.counts.records;
        if (s.rate.at !== 0) s.rate.value = ((n - s.rate.count) * 1000) / dt;
        s.rate.at = e.now;
        s.rate.count = n;
      }
      s.version++;
      return s;
    }
    case 'resize':
      s.cols = Math.max(1, e.cols);
      s.rows = Math.max(1, e.rows);
      s.version++;
      return s;
    case 'replay':
      s.replay = e.replay;
      s.version++;
      return s;
    case 'key':
      onKey(s, e.key);
      s.version++;
      return s;
    case 'mouse':
      onMouse(s, e);
      s.version++;
      return s;
  }
}

function onMouse(s: State, e: Extract<DashboardEvent, { type: 'mouse' }>): void {
  if (s.overlay) { if (e.action === 'click') s.overlay = null; return; }
  const rects = layout(s.cols, s.rows);
  for (const id of PANELS) {
    const r = rects[id];
    if (e.x < r.x || e.x >= r.x + r.w || e.y < r.y || e.y >= r.y + r.h) continue;
    s.focus = id;
    if (e.action === 'wheelup') { move(s, -3); return; }
    if (e.action === 'wheeldown') { move(s, 3); return; }
    const row = e.y - r.y - 1; // below the panel's title line
    if (row < 0) return;
    const key = s.shown[id][row];
    if (key === undefined || key === null) return;
    setSelected(s, id, key);
    s.following = false;
    return;
  }
}

/** Remembers when a process exited (a reused pid starts afresh); entries of processes the model let go are pruned. */
function noteExit(s: State, pid: number, exited: boolean): void {
  if (!exited) { s.exitedAt.delete(pid); return; }
  s.exitedAt.set(pid, s.now);
  if (s.exitedAt.size > 2 * s.model.processes.size + 64) {
    for (const k of s.exitedAt.keys()) if (!s.model.processes.has(k)) s.exitedAt.delete(k);
  }
}
