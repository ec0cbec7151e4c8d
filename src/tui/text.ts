// Text for the dashboard (pure): escaping of traced text, glyph sets for UTF-8 and plain ASCII terminals, fitting to a width.
import { escapeControl, isInvisible } from '../model/escape.js';

export interface Glyphs {
  scm: string;      // the arrow of an SCM_RIGHTS transfer
  take: string;     // the arrow of a pidfd_getfd transfer
  to: string;       // uid 0 -> 65534
  branch: string;   // tree: a child that has siblings below it
  last: string;     // tree: the last child
  pipe: string;     // tree: an ancestor's line continuing
  vsep: string;     // between side-by-side panels
  ellipsis: string;
  barFull: string;
  barEmpty: string;
  dots: string;     // "detaching..."
}

export const UNICODE: Glyphs = {
  scm: '\u2500SCM_RIGHTS\u2192', take: '\u2500pidfd_getfd\u2192', to: '\u2192',
  branch: '\u251c\u2500', last: '\u2514\u2500', pipe: '\u2502 ', vsep: '\u2502', ellipsis: '\u2026',
  barFull: '\u2588', barEmpty: '\u2591', dots: '\u2026',
};

export const ASCII: Glyphs = {
  scm: '--SCM_RIGHTS->', take: '--pidfd_getfd->', to: '->',
  branch: '|-', last: '`-', pipe: '| ', vsep: '|', ellipsis: '~',
  barFull: '#', barEmpty: '-', dots: '...',
};

/** UTF-8 output only when the locale says so (LC_ALL, then LC_CTYPE, then LANG, as setlocale reads them). */
export function localeIsUnicode(env: NodeJS.ProcessEnv): boolean {
  const loc = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(loc);
}

/** NO_COLOR (any non-empty value, see no-color.org) turns colour off; TERM=dumb too. */
export function colorWanted(env: NodeJS.ProcessEnv): boolean {
  return !env['NO_COLOR'] && env['TERM'] !== 'dumb';
}

// East Asian wide and emoji ranges: two columns each, which the fixed-width layout cannot place.
function wide(c: number): boolean {
  return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) || c >= 0x1f000;
}

/**
 * Text that came from a traced program (comm, paths, socket names), made safe to draw: control characters
 * escaped (escapeControl), invisible or reordering format characters shown as \u{...}, and on an ASCII
 * terminal everything outside printable ASCII as \xNN / \u{...}. One output char per column stays true.
 */
export function clean(s: string | null | undefined, unicode: boolean): string {
  if (s === null || s === undefined) return '?';
  const e = escapeControl(s);
  let i = 0;
  for (; i < e.length; i++) {
    const c = e.charCodeAt(i);
    if (c > 0x7e && (!unicode || isInvisible(c) || (c >= 0xd800 && c <= 0xdfff) || wide(c))) break;
  }
  if (i === e.length) return e;
  let out = e.slice(0, i);
  for (const ch of e.slice(i)) {
    const c = ch.codePointAt(0)!;
    // wide (CJK, emoji) characters and lone surrogates would break the column arithmetic: escape them too
    if (c <= 0x7e || (unicode && !wide(c) && !isInvisible(c) && !(c >= 0xd800 && c <= 0xdfff) && c <= 0xffff)) out += ch;
    else if (c <= 0xff) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += '\\u{' + c.toString(16) + '}';
  }
  return out;
}

/**
 * A target shortened to `w` columns in its middle: a socket or pipe keeps its `[inodes]` (or addresses), a path its
 * file name, and as much of the start as fits; when even that part does not fit, both ends of it are kept.
 */
export function shortenMiddle(s: string, w: number, ell = '~'): string {
  if (s.length <= w) return s;
  if (w <= ell.length) return s.slice(0, w);
  const br = s.endsWith(']') ? s.lastIndexOf('[') : -1;
  const slash = s.lastIndexOf('/');
  const keep = br > 0 ? s.length - br : slash > 0 ? s.length - slash : 0;
  if (keep > 0 && keep + ell.length < w) return s.slice(0, w - ell.length - keep) + ell + s.slice(s.length - keep);
  const head = Math.ceil((w - ell.length) / 2);
  return s.slice(0, head) + ell + s.slice(s.length - (w - ell.length - head));
}

/** Fits `s` into exactly `w` columns: cut at the end (names, messages), at the start, or in the middle (targets). */
export function fit(s: string, w: number, cut: 'end' | 'start' | 'middle' = 'end', align: 'left' | 'right' = 'left', ell = '~'): string {
  if (w <= 0) return '';
  if (s.length > w) {
    if (w <= ell.length) return s.slice(0, w);
    if (cut === 'middle') return shortenMiddle(s, w, ell);
    return cut === 'end' ? s.slice(0, w - ell.length) + ell : ell + s.slice(s.length - (w - ell.length));
  }
  return align === 'left' ? s.padEnd(w) : s.padStart(w);
}

export interface Column {
  /** header text */
  title: string;
  min: number;
  /** share of the width left over after every column's minimum; 0 = fixed */
  flex?: number;
  max?: number;
  align?: 'left' | 'right';
  cut?: 'end' | 'start' | 'middle';
  /** spare columns go first to the columns with a need, lowest number first, up to what their cells need */
  need?: number;
  /** dropped first when the width is short: higher drops earlier; 0 = never */
  drop?: number;
  /** shown only when the panel is at least this wide */
  showAt?: number;
}

/** A cell "main" + SUFFIX + "suffix": the suffix (a state, a uid change) is kept whole and the main part is cut. */
export const SUFFIX = '\u0000';
/** A cell "long" + ALT + "short": the short form is used when the long one does not fit. */
export const ALT = '\u0001';
/** A cell "name" + KEEP + "[pid] fd 3": the part after KEEP is never cut (a pid), the name before it is. */
export const KEEP = '\u0002';

/** How many columns a cell takes uncut (its long form, the markers not counted). */
export function cellWidth(cell: string): number {
  const a = cell.indexOf(ALT);
  return (a >= 0 ? cell.slice(0, a) : cell).replace(SUFFIX, '').replace(KEEP, '').length;
}

/**
 * Chooses each column's width for a panel `width` wide (one space between columns); dropped columns get 0. With
 * `wants` (the widest cell of each column among the rows drawn), the spare columns first give the columns with a
 * `need` what their cells need, in need order; what is left goes by flex weight.
 */
export function columnWidths(cols: Column[], width: number, wants?: number[]): number[] {
  const on = cols.map((c) => c.showAt === undefined || width >= c.showAt);
  const need = (): number => cols.reduce((n, c, i) => n + (on[i] ? c.min + 1 : 0), -1);
  for (;;) {
    if (need() <= width) break;
    let worst = -1;
    for (let i = 0; i < cols.length; i++) if (on[i] && (cols[i]!.drop ?? 0) > 0 && (worst < 0 || cols[i]!.drop! > cols[worst]!.drop!)) worst = i;
    if (worst < 0) break;
    on[worst] = false;
  }
  const ws = cols.map((c, i) => (on[i] ? c.min : 0));
  let spare = width - need();
  if (wants) {
    const order = cols.map((_, i) => i).filter((i) => on[i] && cols[i]!.need !== undefined)
      .sort((x, y) => cols[x]!.need! - cols[y]!.need!);
    for (const i of order) {
      const c = cols[i]!;
      const add = Math.max(0, Math.min(spare, (c.max ?? Infinity) - ws[i]!, (wants[i] ?? 0) - ws[i]!));
      ws[i] = ws[i]! + add;
      spare -= add;
    }
  }
  // hand the spare columns out by flex weight, respecting max
  for (let round = 0; round < 4 && spare > 0; round++) {
    const open = cols.map((c, i) => (on[i] && (c.flex ?? 0) > 0 && (c.max === undefined || ws[i]! < c.max) ? c.flex! : 0));
    const total = open.reduce((a, b) => a + b, 0);
    if (total === 0) break;
    let given = 0;
    for (let i = 0; i < cols.length; i++) {
      if (open[i] === 0) continue;
      let add = Math.floor((spare * open[i]!) / total);
      const c = cols[i]!;
      if (c.max !== undefined) add = Math.min(add, c.max - ws[i]!);
      ws[i] = ws[i]! + add;
      given += add;
    }
    spare -= given;
    if (given === 0) {
      // rounding left a few columns: one at a time, the most flexible column first
      const order = cols.map((_, i) => i).filter((i) => open[i]! > 0).sort((x, y) => open[y]! - open[x]!);
      for (const i of order) {
        if (spare === 0) break;
        ws[i] = ws[i]! + 1;
        spare--;
      }
    }
  }
  return ws;
}

/** One line of cells laid out with `widths` (from columnWidths), exactly `width` long. */
export function layoutCells(cells: string[], cols: Column[], widths: number[], width: number, ell = '~'): string {
  let out = '';
  for (let i = 0; i < cols.length; i++) {
    const w = widths[i]!;
    if (w === 0) continue;
    if (out.length > 0) out += ' ';
    const c = cols[i]!;
    let cell = cells[i] ?? '';
    const a = cell.indexOf(ALT);
    if (a >= 0) cell = a <= w ? cell.slice(0, a) : cell.slice(a + 1);
    const keep = cell.indexOf(KEEP);
    const k = cell.indexOf(SUFFIX);
    if (keep >= 0) {
      // the name gives way, down to nothing, before a pid does
      const name = cell.slice(0, keep);
      const tail = cell.slice(keep + 1);
      const room = w - tail.length;
      out += room >= name.length ? (name + tail).padEnd(w) : room > ell.length ? name.slice(0, room - ell.length) + ell + tail
        : fit(tail, w, 'end', 'left', ell);
    } else if (k < 0) out += fit(cell, w, c.cut ?? 'end', c.align ?? 'left', ell);
    else {
      const main = cell.slice(0, k);
      const tail = cell.slice(k + 1);
      out += w - tail.length >= Math.min(8, main.length) ? fit(fit(main, Math.min(main.length, w - tail.length), c.cut ?? 'end', 'left', ell) + tail, w, 'end', 'left', ell)
        : fit(main + tail, w, 'end', 'left', ell);
    }
  }
  return fit(out, width, 'end', 'left', ell);
}
