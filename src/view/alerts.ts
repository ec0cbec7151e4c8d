// What every view shows of an alert beyond its message: the facts of a privilege or uid crossing. Pure.
import type { AlertRecord } from '../model/records.js';

/**
 * privilege-crossing, uid-crossing: the facts in the alert's own fields, `mode 0600 owner 0:0, uid 0 → 65534, access r`
 * (`unknown` where the trace could not tell); null for other alerts. Only numbers and fixed words: nothing to escape.
 */
export function crossingFacts(a: AlertRecord, arrow = '→'): string | null {
  if (a.fromUid === undefined && a.toUid === undefined && a.file === undefined && a.access === undefined) return null;
  const u = (x: number | null | undefined): string => (x == null ? 'unknown' : String(x));
  const file = a.file ? `mode ${a.file.mode} owner ${a.file.uid}:${a.file.gid}` : 'mode unknown';
  return `${file}, uid ${u(a.fromUid)} ${arrow} ${u(a.toUid)}, access ${a.access ?? 'unknown'}`;
}
