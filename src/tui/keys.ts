// Keys: what each key does in the dashboard (the filter prompt and an open box take keys first), and the help screen.
import { detailLines } from './details.js';
import { LEGEND } from './panels.js';
import { cycleFocus, follow, move, pageSize, pause } from './select.js';
import type { State } from './state.js';

const PRINTABLE = /^[\x20-\x7e]$/;

export function onKey(s: State, key: string): void {
  if (key === 'C-c') { quit(s); return; }
  if (s.editing) { editFilter(s, key); return; }
  if (s.overlay) {
    if (key === 'escape' || key === 'enter' || key === 'q' || key === '?') s.overlay = null;
    else if (key === 'down' || key === 'j') s.overlay.offset = Math.min(Math.max(0, s.overlay.lines.length - 1), s.overlay.offset + 1);
    else if (key === 'up' || key === 'k') s.overlay.offset = Math.max(0, s.overlay.offset - 1);
    return;
  }
  switch (key) {
    case 'q': quit(s); return;
    case '?': s.overlay = { kind: 'help', title: 'Keys', lines: helpLines(s), offset: 0 }; return;
    case 'tab': cycleFocus(s, 1); return;
    case 'S-tab': cycleFocus(s, -1); return;
    case 'up': case 'k': move(s, -1); return;
    case 'down': case 'j': move(s, 1); return;
    case 'pageup': move(s, -pageSize(s)); return;
    case 'pagedown': move(s, pageSize(s)); return;
    case 'home': case 'g': move(s, 'home'); return;
    case 'end': case 'G': move(s, 'end'); return;
    case 'right': case 'l':
      if (s.focus === 'processes' && s.sel.pid !== null) s.unfolded.add(s.sel.pid);
      return;
    case 'left': case 'h':
      if (s.focus === 'processes' && s.sel.pid !== null) s.unfolded.delete(s.sel.pid);
      return;
    case 'enter': {
      const d = detailLines(s);
      if (d) s.overlay = { kind: 'details', title: d.title, lines: d.lines, offset: 0 };
      return;
    }
    case '/': s.editing = { text: s.filter, prev: s.filter }; return;
    case 'escape':
      if (s.filter) { s.filter = ''; s.status = { ...s.status, message: 'filter cleared' }; }
      return;
    case 'p':
      pause(s, !s.paused);
      s.status = { ...s.status, message: s.paused ? 'view paused: tracing goes on (p resumes)' : 'view resumed' };
      return;
    case 'f':
      s.following = !s.following;
      if (s.following && !s.paused) follow(s);
      s.status = { ...s.status, message: s.following ? 'following the newest events' : 'not following' };
      return;
    case 'e': s.effects.push({ kind: 'export' }); return;
    case ' ': if (s.replay) s.effects.push({ kind: 'replay', op: 'toggle' }); return;
    case '.': if (s.replay) s.effects.push({ kind: 'replay', op: 'step' }); return;
    case '+': case '=': if (s.replay) s.effects.push({ kind: 'replay', op: 'faster' }); return;
    case '-': case '_': if (s.replay) s.effects.push({ kind: 'replay', op: 'slower' }); return;
  }
}

function quit(s: State): void {
  if (s.quitting) return;
  s.quitting = true;
  s.overlay = null;
  s.effects.push({ kind: 'quit' });
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


export function helpLines(s: State): string[] {
  const lines = [
    'up/down j/k    move        PgUp/PgDn g/G  page, first, last',
    'Tab/S-Tab      next/previous panel (or click a row)',
    'Enter          details of the selected row (Esc closes)',
    'right/left l/h unfold/fold a process\'s threads',
    '/              filter by comm, pid or path (Enter keeps, Esc clears)',
    'p              pause/resume the view (tracing goes on)',
    'f              follow the newest events',
    'e              write the current state as NDJSON to ./fdwatch-state-*.ndjson',
    'q  Ctrl-C      quit (detaches from the traced processes)',
  ];
  if (s.replay) {
    lines.push('space          replay: play/pause', '.              replay: one record', '+ / -          replay: faster/slower');
  }
  lines.push('', ...LEGEND);
  return lines;
}
