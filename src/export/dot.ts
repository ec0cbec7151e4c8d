// The whiteboard picture (pure): records folded into a Graphviz graph of processes (the fork tree, dashed) and fd
// transfers (solid, labelled with the fds, the target and the state). Records in, dot text out. Traced text is escaped.
import { commPid } from '../model/names.js';
import { escapeControl } from '../model/escape.js';
import type { FdwatchRecord, ProcessRecord, TransferEnd, TransferRecord } from '../model/records.js';

interface DotProcess { pid: number; comm: string | null; ppid: number | null; exit: string | null }

/** Colours by transfer state: what the dashboard marks (in flight ~, lost !) in the picture's words. */
const STATE_COLOR: Record<TransferRecord['state'], string> = { delivered: 'darkgreen', 'in-flight': 'darkorange', lost: 'red3' };

/** A dot string literal: traced text escaped first (no control character reaches the file), then dot's own quoting. */
function q(s: string): string {
  return '"' + escapeControl(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** A label of several lines: each escaped, joined by dot's centred line break. */
function label(lines: string[]): string {
  return '"' + lines.map((l) => escapeControl(l).replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n') + '"';
}

/**
 * Folds records into the graph. Processes come from process records and from the ends of transfers (a sender the
 * trace never saw fork is still a node); a transfer whose end is unknown points at a node of its own, so every
 * transfer of the trace is one edge. An in-flight transfer later delivered or lost is one edge, in its last state.
 */
export class DotGraph {
  private readonly procs = new Map<number, DotProcess>();
  private readonly transfers: TransferRecord[] = [];
  /** in-flight transfers by sender end, so a later record of the same fd replaces the edge */
  private readonly pending = new Map<string, number>();

  push(r: FdwatchRecord): void {
    if (r.type === 'process') this.process(r);
    else if (r.type === 'transfer') this.transfer(r);
  }

  private proc(pid: number): DotProcess {
    let p = this.procs.get(pid);
    if (!p) this.procs.set(pid, (p = { pid, comm: null, ppid: null, exit: null }));
    return p;
  }

  private process(r: ProcessRecord): void {
    const p = this.proc(r.pid);
    if (r.comm !== null) p.comm = r.comm;
    if (r.event === 'fork' && r.ppid !== null && r.ppid !== r.pid) { p.ppid = r.ppid; this.proc(r.ppid); }
    if (r.event === 'exit') p.exit = r.signal ? `killed ${r.signal}` : `exit ${r.exitCode ?? '?'}`;
  }

  private transfer(t: TransferRecord): void {
    for (const e of [t.from, t.to]) {
      if (e?.pid == null) continue;
      const p = this.proc(e.pid);
      if (p.comm === null && e.comm !== null) p.comm = e.comm;
    }
    // the view model's identity of a transfer (src/view/model.ts): sender, fd, line and time of the send
    const key = t.from.pid === null ? null : `${t.via}|${t.from.pid}|${t.from.fd}|${t.line ?? ''}|${t.sentTs ?? ''}`;
    const at = key === null ? undefined : this.pending.get(key);
    if (at !== undefined && key !== null) {
      this.transfers[at] = t;
      this.pending.delete(key);
    } else {
      if (t.state === 'in-flight' && key !== null) this.pending.set(key, this.transfers.length);
      this.transfers.push(t);
    }
  }

  /** The transfers the graph draws, one edge each, in trace order. */
  edges(): readonly TransferRecord[] {
    return this.transfers;
  }

  /** The graph as dot text; `title` (the trace) labels it. */
  render(title: string): string {
    const out: string[] = [
      'digraph fdwatch {',
      `  label=${q(`fdwatch: ${title}`)}; labelloc=t; rankdir=LR;`,
      '  node [shape=box, style=rounded, fontname="monospace", fontsize=10];',
      '  edge [fontname="monospace", fontsize=9];',
    ];
    const node = (pid: number): string => `p${pid}`;
    for (const p of [...this.procs.values()].sort((a, b) => a.pid - b.pid)) {
      const lines = [commPid(p.comm, p.pid)];
      if (p.exit) lines.push(p.exit);
      out.push(`  ${node(p.pid)} [label=${label(lines)}${p.exit ? ', color=gray50' : ''}];`);
    }
    for (const p of this.procs.values()) {
      if (p.ppid !== null) out.push(`  ${node(p.ppid)} -> ${node(p.pid)} [style=dashed, color=gray60, arrowhead=empty, class="fork"];`);
    }
    this.transfers.forEach((t, i) => {
      const end = (e: TransferEnd | null, side: string): string => {
        if (e?.pid != null) return node(e.pid);
        // an end the trace did not see: a node of its own, so the edge is still drawn
        const id = `${side}${i}`;
        out.push(`  ${id} [label=${q(e ? 'unknown process' : 'not received')}, shape=plaintext];`);
        return id;
      };
      const from = end(t.from, 'from');
      const to = end(t.to, 'to');
      const fds = `fd ${t.from.fd ?? '?'} -> fd ${t.to?.fd ?? '?'}`;
      const state = t.state === 'lost' ? `lost${t.reason ? `: ${t.reason}` : ''}` : t.state;
      const lines = [`${t.via} ${fds}`, t.target ?? '?', state];
      out.push(`  ${from} -> ${to} [label=${label(lines)}, color=${STATE_COLOR[t.state]}, fontcolor=${STATE_COLOR[t.state]}, ` +
        `penwidth=1.5, class="transfer", id=${q(`transfer-${i}`)}${t.state === 'delivered' ? '' : ', style=bold'}];`);
    });
    out.push('}');
    return out.join('\n') + '\n';
  }
}
