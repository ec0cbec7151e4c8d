// Titles and the Enter overlay (pure): each panel's title line, and every field of the selected row.
import { crossingFacts } from '../view/alerts.js';
import type { TransferEnd } from '../model/records.js';
import { findTransfer, inetPeers } from '../view/model.js';
import { hopText, type Chain } from '../view/provenance.js';
import { cellName, clock, foldedExited, glyphs, originText, stateText } from './panels.js';
import { selectedKey, viewModel, type PanelId, type State } from './state.js';
import { clean } from './text.js';

/** Processes not exited: those the trace follows (`live`), and the receivers outside it known only from other
 * records (`outside`: neither their state nor their calls are seen). */
export function liveCounts(s: State): { live: number; outside: number } {
  let live = 0;
  let outside = 0;
  for (const q of viewModel(s).processes.values()) if (!q.exited) { if (q.placeholder) outside++; else live++; }
  return { live, outside };
}

export function panelTitle(s: State, panel: PanelId): string {
  const m = viewModel(s);
  const u = s.unicode;
  const p = s.sel.pid !== null ? m.processes.get(s.sel.pid) : undefined;
  switch (panel) {
    case 'processes': {
      const { live, outside } = liveCounts(s);
      const folded = foldedExited(s).size;
      return `Processes ${m.processes.size} (${live} running${outside > 0 ? `, ${outside} untraced` : ''}${folded > 0 ? `, ${folded} exited folded: x` : ''})`;
    }
    case 'fds': {
      if (s.fdView === 'transfer' && s.sel.transfer !== null) {
        const t = findTransfer(m, s.sel.transfer);
        if (t) return `FD table: ${cellName(t.rec.from.comm, t.rec.from.pid, u)} ${glyphs(s).to} ${t.rec.to ? cellName(t.rec.to.comm, t.rec.to.pid, u) : '?'} (transfer)`;
      }
      if (!p) return 'FD table (select a process)';
      const drop = p.fdsDropped > 0 ? `, ${p.fdsDropped} not kept` : '';
      return `FD table: ${cellName(p.comm, p.pid, u)} ${p.fds.size} fds${p.exited ? ' at exit' : ''}${drop}`;
    }
    case 'transfers': {
      const c = m.counts;
      return `Transfers ${c.delivered + c.inFlight + c.lost}: ${c.delivered} delivered, ${c.inFlight} in flight, ${c.lost} lost`;
    }
    case 'maps': {
      if (!p) return 'Maps';
      const tr = p.maps.filter((x) => x.transferred).length;
      return `Maps: ${cellName(p.comm, p.pid, u)} ${p.maps.length}${tr ? `, ${tr} from a transferred fd` : ''}`;
    }
    case 'alerts':
      return `Alerts ${m.counts.alerts}`;
  }
}

function endLines(label: string, e: TransferEnd | null, u: boolean): string[] {
  if (!e) return [`${label}: not received`];
  return [
    `${label}: ${cellName(e.comm, e.pid, u, e.tid)} fd ${e.fd ?? '?'}  uid ${e.uid ?? '?'}`,
    `  socket: ${clean(e.socket ?? '?', u)}`,
  ];
}

/** The Enter overlay: every field of the selected row of the focused panel. */
export function detailLines(s: State): { title: string; lines: string[] } | null {
  const m = viewModel(s);
  const u = s.unicode;
  const key = selectedKey(s, s.focus);
  if (key === null) return null;
  switch (s.focus) {
    case 'processes': {
      const p = m.processes.get(key as number);
      if (!p) return null;
      const lines = [
        `pid ${p.pid}  ppid ${p.ppid ?? '?'}  uid ${p.uid ?? '?'}`,
        `comm: ${clean(p.comm ?? '?', u)}`,
        `program: ${clean(p.path ?? '?', u)}`,
        `state: ${stateText(p)}${p.placeholder ? ' (known only from other records)' : ''}`,
        `threads: ${p.tids.length ? p.tids.join(' ') : 'none seen besides the leader'}`,
        `fds: ${p.fds.size}${p.exited ? ' at exit' : ' open'}; sent ${p.sent}, received ${p.received}; alerts ${p.alerts}`,
        `maps: ${p.maps.length} file-backed`,
      ];
      if (p.shareFdTableWith !== null) lines.push(`shares its fd table with ${p.shareFdTableWith} (CLONE_FILES)`);
      if (p.note) lines.push(`note: ${clean(p.note, u)}`);
      if (p.fdsDropped) lines.push(`${p.fdsDropped} fds beyond the dashboard's limit were not kept`);
      return { title: `Process ${cellName(p.comm, p.pid, u)}`, lines };
    }
    case 'fds': {
      let pid = s.sel.pid;
      let fd = key as number;
      if (typeof key === 'string') { const [a, b] = key.split(':').map(Number); pid = a ?? null; fd = b ?? NaN; }
      const p = pid !== null ? m.processes.get(pid) : undefined;
      const en = p?.fds.get(fd);
      if (!p || !en) return null;
      const lines = [
        `fd ${en.fd} of ${cellName(p.comm, p.pid, u)}${en.tid !== null ? ` (thread ${en.tid})` : ''}`,
        `kind: ${en.kind}`,
        `target: ${clean(en.target ?? '?', u)}`,
        `close-on-exec: ${en.cloexec === null ? 'unknown' : en.cloexec ? 'yes' : 'no'}`,
        `position: ${en.pos ?? 'unknown'}${en.flags ? `  flags: ${clean(en.flags, u)}` : ''}`,
        `origin: ${originText(en.origin, u)}`,
        `by: ${clean(en.syscall ?? '?', u)} at ${clock(en.ts)}`,
      ];
      if (en.ofd) lines.push(`open file description: ${clean(en.ofd, u)}`);
      // a loopback connection: who holds the other end (as ss -tp names it)
      const peers = inetPeers(m, en.target);
      if (peers.length > 0) lines.push(`other end: ${peers.map((x) => `${cellName(x.comm, x.pid, u)} fd ${x.fd}`).join(', ')}`);
      if (en.transferred) lines.push('arrived by transfer');
      lines.push(...historyLines(m.provenance.chain(p.pid, en.fd, m.seq), u, Math.max(40, s.cols - 8)));
      return { title: `fd ${en.fd}`, lines };
    }
    case 'transfers': {
      const t = findTransfer(m, key as number);
      if (!t) return null;
      const r = t.rec;
      const lines = [
        `via ${r.via}: ${r.state}${r.reason ? ` (${clean(r.reason, u)})` : ''}${r.confirmed ? ', confirmed by kcmp' : ''}`,
        `target: ${clean(r.target ?? '?', u)} (${r.kind})`,
        ...endLines('sender', r.from, u),
        ...endLines('receiver', r.to, u),
        `sent ${clock(r.sentTs)}  received ${clock(r.receivedTs)}${r.line != null ? `  trace line ${r.line}` : ''}`,
      ];
      return { title: 'Transfer', lines };
    }
    case 'maps': {
      const p = s.sel.pid !== null ? m.processes.get(s.sel.pid) : undefined;
      const r = p?.maps.find((x) => x.start === key);
      if (!p || !r) return null;
      return {
        title: `Mapping of ${cellName(p.comm, p.pid, u)}`,
        lines: [
          `${r.start}-${r.end} ${r.perms} offset ${r.offset}`,
          `path: ${clean(r.path ?? '?', u)}`,
          `fd: ${r.fd ?? '-'}${r.transferred ? ' (arrived by transfer)' : ''}`,
          `at ${clock(r.ts)}${r.inode != null ? `  inode ${r.inode}` : ''}${r.dev ? `  dev ${clean(r.dev, u)}` : ''}`,
        ],
      };
    }
    case 'alerts': {
      const a = m.alerts.toArray().find((x) => x.seq === key);
      if (!a) return null;
      const crossing = crossingFacts(a.rec, u ? '→' : '->');
      return {
        title: `Alert ${a.rec.kind}`,
        lines: [`pid ${a.rec.pid ?? '-'}  fd ${a.rec.fd ?? '-'}  at ${clock(a.rec.ts)}${a.rec.severity ? `  ${a.rec.severity}` : ''}`,
          ...(crossing !== null ? [crossing] : []), ...wrap(clean(a.rec.message, u), 72)],
      };
    }
  }
}

/** The fd's provenance, oldest hop first: where its open file description was opened and every hop since. */
function historyLines(c: Chain | null, u: boolean, width: number): string[] {
  if (!c || c.hops.length === 0) return [];
  const out = ['', `history${c.origin !== null ? ` of ${clean(c.origin, u)}` : ''} (${c.hops.length} hop${c.hops.length === 1 ? '' : 's'}):`];
  if (c.incomplete) out.push('  (came from an fd the trace does not show)');
  for (const h of c.hops) out.push(...wrapWords(`  ${h.ts !== null ? clock(h.ts) + ' ' : ''}${hopText(h, (x) => clean(x, u))}`, width, '      '));
  if (c.dropped > 0) out.push(`  (${c.dropped} more not kept)`);
  return out;
}

/** A line cut at spaces to `w` columns (a word longer than that is cut), continued after `indent`. */
function wrapWords(text: string, w: number, indent: string): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > w) {
    let at = rest.lastIndexOf(' ', w);
    if (at <= indent.length) at = w;
    out.push(rest.slice(0, at));
    rest = indent + rest.slice(at).trimStart();
  }
  out.push(rest);
  return out;
}

function wrap(text: string, w: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += w) out.push(text.slice(i, i + w));
  return out.length ? out : [''];
}
