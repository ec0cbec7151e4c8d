// Shared test helpers: run trace text through the real pipeline and collect its records.
import { TraceSession } from '../src/correlate/session.js';
import type { FdwatchRecord, SummaryRecord } from '../src/model/records.js';

export interface Run {
  records: FdwatchRecord[];
  summary: SummaryRecord;
  session: TraceSession;
}

export function runTrace(text: string, baseDay = 0): Run {
  const records: FdwatchRecord[] = [];
  const session = new TraceSession((r) => records.push(r), { baseDay });
  const src = session.source(null);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => session.line(l, i + 1, src));
  const summary = session.end();
  return { records, summary, session };
}

export function ofType<T extends FdwatchRecord['type']>(rs: FdwatchRecord[], type: T): Array<Extract<FdwatchRecord, { type: T }>> {
  return rs.filter((r): r is Extract<FdwatchRecord, { type: T }> => r.type === type);
}

/**
 * Time as a reader of the records sees it: a delivered fd is received no earlier than it was sent, and fd records
 * and deliveries come in time order (a split call is at its return: its `<... resumed>` line's time). Returns
 * the number of transfers checked, so that a caller can assert there were some.
 */
export function timeOrderProblems(rs: FdwatchRecord[]): { problems: string[]; transfers: number } {
  const problems: string[] = [];
  let transfers = 0;
  let last = -Infinity;
  for (const r of rs) {
    let ts: number | null = null;
    if (r.type === 'fd') ts = r.ts;
    else if (r.type === 'transfer' && r.state === 'delivered') {
      ts = r.ts;
      if (r.sentTs !== null && r.receivedTs !== null) {
        transfers++;
        if (r.sentTs > r.receivedTs) problems.push(`received before it was sent: ${JSON.stringify(r)}`);
      }
    }
    if (ts === null) continue;
    if (ts < last) problems.push(`goes back in time: ${JSON.stringify(r)}`);
    else last = ts;
  }
  return { problems, transfers };
}
