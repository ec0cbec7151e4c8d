// The whole screen as styled text (pure but for one memo): state -> Frame of lines of segments.
// The app turns a Frame into terminal output; tests read frameText(). The renderer records, per panel, the first
// row shown and the keys of the rows it drew (state.scroll, state.shown): a click then selects what was on screen.
import { liveCounts, panelTitle } from './details.js';
import { layout, type Rect } from './layout.js';
import { glyphs, panelColumns, panelRows, type Style } from './panels.js';
import { PANELS, viewModel, selectedKey, type PanelId, type RowKey, type State } from './state.js';
import { cellWidth, clean, columnWidths, fit, layoutCells } from './text.js';

export type SegStyle = Style | 'title' | 'titleFocus' | 'bar' | 'colhead' | 'sep' | 'overlay';
export interface Seg { text: string; style: SegStyle; sel: 0 | 1 | 2 } // sel: 1 selected in the focused panel, 2 elsewhere
export interface Frame { cols: number; rows: number; lines: Seg[][] }

class Canvas {
  readonly ch: string[][];
  readonly st: SegStyle[][];
  readonly sel: Array<Array<0 | 1 | 2>>;
  constructor(readonly cols: number, readonly rows: number) {
    this.ch = Array.from({ length: rows }, () => new Array<string>(cols).fill(' '));
    this.st = Array.from({ length: rows }, () => new Array<SegStyle>(cols).fill('normal'));
    this.sel = Array.from({ length: rows }, () => new Array<0 | 1 | 2>(cols).fill(0));
  }
  put(x: number, y: number, text: string, style: SegStyle, sel: 0 | 1 | 2 = 0): void {
    if (y < 0 || y >= this.rows) return;
    const row = this.ch[y]!;
    for (let i = 0; i < text.length; i++) {
      const cx = x + i;
      if (cx < 0) continue;
      if (cx >= this.cols) break;
      row[cx] = text[i]!;
      this.st[y]![cx] = style;
      this.sel[y]![cx] = sel;
    }
  }
  frame(): Frame {
    const lines: Seg[][] = [];
    for (let y = 0; y < this.rows; y++) {
      const segs: Seg[] = [];
      let start = 0;
      for (let x = 1; x <= this.cols; x++) {
        if (x < this.cols && this.st[y]![x] === this.st[y]![start] && this.sel[y]![x] === this.sel[y]![start]) continue;
        segs.push({ text: this.ch[y]!.slice(start, x).join(''), style: this.st[y]![start]!, sel: this.sel[y]![start]! });
        start = x;
      }
      lines.push(segs);
    }
    return { cols: this.cols, rows: this.rows, lines };
  }
}

export function frameText(f: Frame): string[] {
  return f.lines.map((l) => l.map((s) => s.text).join(''));
}

export function renderScreen(s: State): Frame {
  const cols = Math.max(1, s.cols);
  const rows = Math.max(1, s.rows);
  const c = new Canvas(cols, rows);
  const L = layout(cols, rows);
  const g = glyphs(s);
  for (const id of PANELS) drawPanel(c, s, id, L[id]);
  // separators between side-by-side panels
  for (let y = L.processes.y; y < L.processes.y + L.processes.h; y++) c.put(L.processes.x + L.processes.w, y, g.vsep, 'sep');
  for (let y = L.maps.y; y < L.maps.y + L.maps.h; y++) c.put(L.maps.x + L.maps.w, y, g.vsep, 'sep');
  c.put(0, L.title.y, fit(titleText(s, cols), cols, 'end', 'left', g.ellipsis), 'bar');
  if (rows > 1) {
    // the help hint keeps its place at the right end; the rest is cut to fit
    const right = s.editing ? '' : ' ? help ';
    const left = cols > right.length + 20 ? fit(statusText(s), cols - right.length, 'end', 'left', g.ellipsis) : '';
    c.put(0, L.status.y, fit(left + right, cols, 'end', 'left', g.ellipsis), 'bar');
  }
  if (s.overlay) drawOverlay(c, s);
  return c.frame();
}

function drawPanel(c: Canvas, s: State, id: PanelId, r: Rect): void {
  if (r.h <= 0 || r.w <= 0) return;
  const g = glyphs(s);
  const focused = s.focus === id;
  c.put(r.x, r.y, fit(` ${panelTitle(s, id)}`, r.w, 'end', 'left', g.ellipsis), focused ? 'titleFocus' : 'title');
  const cols = panelColumns(s, id);
  const shown: RowKey[] = [];
  let y = r.y + 1;
  const head = r.h >= 3;
  if (head) y++;
  const vis = r.y + r.h - y;
  const rowsAll = panelRows(s, id);
  const key = selectedKey(s, id);
  const idx = key === null ? -1 : rowsAll.findIndex((x) => x.key === key);
  const maxOff = Math.max(0, rowsAll.length - vis);
  let off = Math.min(s.scroll[id], maxOff);
  if (idx < 0 && (id === 'transfers' || id === 'alerts') && s.following) off = maxOff;
  if (idx >= 0) {
    if (idx < off) off = idx;
    else if (idx >= off + vis) off = idx - vis + 1;
  }
  s.scroll[id] = off;
  // what the rows on screen need, so that the spare width goes where it is missing (a pid, a socket's inodes)
  const wants = cols.map((k) => cellWidth(k.title));
  for (let i = 0; i < vis; i++) {
    const row = rowsAll[off + i];
    if (!row) break;
    if (row.span) continue;
    row.cells.forEach((cell, j) => { if (j < wants.length) wants[j] = Math.max(wants[j]!, cellWidth(cell)); });
  }
  const widths = columnWidths(cols, r.w, wants);
  if (head) {
    c.put(r.x, r.y + 1, layoutCells(cols.map((k) => k.title), cols, widths, r.w, g.ellipsis), 'colhead');
    shown.push(null);
  }
  if (rowsAll.length === 0 && vis > 0) {
    c.put(r.x, y, fit('  ' + emptyText(s, id), r.w, 'end', 'left', g.ellipsis), 'dim');
  }
  for (let i = 0; i < vis; i++) {
    const row = rowsAll[off + i];
    if (!row) break;
    const sel: 0 | 1 | 2 = off + i === idx ? (focused ? 1 : 2) : 0;
    const text = row.span ? fit(' ' + (row.cells[0] ?? ''), r.w, 'end', 'left', g.ellipsis) : layoutCells(row.cells, cols, widths, r.w, g.ellipsis);
    c.put(r.x, y + i, text, row.style, sel);
    shown.push(row.key);
  }
  s.shown[id] = shown;
}

function emptyText(s: State, id: PanelId): string {
  const f = s.filter ? ` matching "${clean(s.filter, s.unicode)}"` : '';
  switch (id) {
    case 'processes': return s.status.strace === 'starting' && !f ? 'attaching: the processes show once the tracer is in' : `no processes${f} yet`;
    case 'fds': {
      if (s.sel.pid === null) return 'select a process';
      // a receiver outside the traced set: only what was seen passing to it is known
      return viewModel(s).processes.get(s.sel.pid)?.placeholder ? `not traced: no open fds known${f}` : `no open fds known${f}`;
    }
    case 'transfers': return `no fd transfers${f} yet`;
    case 'maps': return s.sel.pid === null ? '' : `no file-backed mappings seen${f}`;
    case 'alerts': return 'no alerts';
  }
}

export function rateText(n: number): string {
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return Math.round(n / 1e3) + 'k';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n));
}

function replayBar(s: State): string {
  const r = s.replay;
  if (!r) return '';
  const g = glyphs(s);
  const w = 20;
  const full = r.total === 0 ? w : Math.round((r.position / r.total) * w);
  const state = r.done ? 'done' : r.playing ? 'playing' : 'paused';
  return `[${g.barFull.repeat(full)}${g.barEmpty.repeat(w - full)}] ${r.position}/${r.total}  ${speedText(r.speed)}  ${state}`;
}

export function speedText(x: number): string {
  return x >= 1 ? `${x}x` : `1/${Math.round(1 / x)}x`;
}

function titleText(s: State, cols: number): string {
  const left = ` fdwatch  ${clean(s.status.source, s.unicode)}`;
  const right = s.replay ? replayBar(s) + ' ' : '';
  if (!right) return left;
  const room = cols - right.length;
  if (room < 12) return right;
  return fit(left, room, 'end', 'left', glyphs(s).ellipsis) + right;
}

function exitText(s: State): string | null {
  const x = s.status.commandExit;
  if (!x) return null;
  if (x.signal) return `command killed by ${x.signal}`;
  return `command exited with status ${x.code ?? '?'}`;
}

export function statusText(s: State): string {
  const u = s.unicode;
  const g = glyphs(s);
  if (s.editing) return ` /${clean(s.editing.text, u)}_   (Enter keeps the filter, Esc cancels)`;
  const parts: string[] = [];
  if (s.quitting) parts.push(s.status.strace === 'replay' ? `quitting${g.dots}` : `detaching${g.dots}`);
  if (s.paused) parts.push(`PAUSED${s.pendingWhilePaused ? ` +${s.pendingWhilePaused} new` : ''}`);
  else parts.push(s.following ? 'following' : 'browsing');
  if (s.status.message) parts.push(clean(s.status.message, u));
  const ex = exitText(s);
  const vm = viewModel(s);
  const running = liveCounts(s).live;
  if (s.status.strace === 'replay') {
    parts.push(`${running} running`);
    const sum = vm.summary;
    if (s.replay?.done && sum) parts.push(sum.cleanEnd ? 'trace ended cleanly' : 'trace did not end cleanly');
  } else {
    parts.push(ex ?? `${s.status.tracer ?? 'strace'} ${s.status.strace}`);
    // the processes of the trace that have not exited: the tracer's own count only until records come
    if (s.status.strace !== 'ended') parts.push(`traced ${vm.processes.size > 0 ? running : s.status.traced}`);
  }
  parts.push(`${rateText(s.rate.value)} ev/s`);
  if (s.filter) parts.push(`filter "${clean(s.filter, u)}"`);
  parts.push(s.status.json ? `json: ${clean(s.status.json, u)}` : 'json: off');
  return ' ' + parts.join(' | ');
}

function drawOverlay(c: Canvas, s: State): void {
  const o = s.overlay!;
  const g = glyphs(s);
  const inner = Math.min(c.cols - 4, Math.max(o.title.length + 4, ...o.lines.map((l) => l.length)) + 2);
  if (inner < 10 || c.rows < 5) return;
  const h = Math.min(c.rows - 2, o.lines.length + 3);
  const x = Math.floor((c.cols - inner - 2) / 2);
  const y = Math.floor((c.rows - h) / 2);
  const edge = s.unicode ? { h: '\u2500', v: '\u2502', tl: '\u250c', tr: '\u2510', bl: '\u2514', br: '\u2518' } : { h: '-', v: '|', tl: '+', tr: '+', bl: '+', br: '+' };
  const title = ` ${o.title} `;
  c.put(x, y, edge.tl + fit(edge.h + title, inner, 'end', 'left', g.ellipsis).replace(/ +$/, (m) => edge.h.repeat(m.length)) + edge.tr, 'overlay');
  const body = h - 3;
  const lines = o.lines.slice(o.offset, o.offset + body);
  for (let i = 0; i < body; i++) {
    c.put(x, y + 1 + i, edge.v + ' ' + fit(lines[i] ?? '', inner - 2, 'end', 'left', g.ellipsis) + ' ' + edge.v, 'overlay');
  }
  const hint = o.lines.length > body ? ' j/k scroll, Esc closes ' : ' Esc closes ';
  c.put(x, y + h - 2, edge.v + fit(hint, inner, 'end', 'left', g.ellipsis) + edge.v, 'overlay');
  c.put(x, y + h - 1, edge.bl + edge.h.repeat(inner) + edge.br, 'overlay');
}
