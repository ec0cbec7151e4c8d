// Escapes text that came from another process (paths, comm) before it reaches a terminal: the one escaping
// every text output uses (line mode, replay and snapshot reports, the dashboard underneath its own fitting).
// C0 controls, DEL and C1 controls become \n, \t, \r or \xNN; format characters that reorder or hide text
// (bidi overrides and isolates, zero-width characters, line/paragraph separators) become \u{NNNN}
// (\xad for the soft hyphen); a backslash becomes \\ so the output stays unambiguous.

const NAMED: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r' };

/**
 * Format characters that reorder or hide text: U+200B-U+200F (zero-width, LRM, RLM), U+202A-U+202E
 * (bidi embeddings and overrides), U+2066-U+2069 (bidi isolates), U+061C (Arabic letter mark), U+2028/U+2029,
 * U+FEFF, U+00AD. A name holding U+202E can show `exe.txt` for `txt.exe`.
 */
export function isInvisible(c: number): boolean {
  return (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
    c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0x061c || c === 0x00ad;
}

function needsEscape(c: number): boolean {
  return c < 0x20 || c === 0x5c || (c >= 0x7f && (c <= 0x9f || isInvisible(c)));
}

/** Any character needsEscape() takes: one native regex test says a clean string is clean (a loop runs interpreted in short runs). */
const ANY_ESCAPE = /[\x00-\x1f\\\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/;

export function escapeControl(s: string): string {
  if (!ANY_ESCAPE.test(s)) return s;
  let i = 0;
  // Fast path: most names are clean; return the same string without copying.
  while (i < s.length && !needsEscape(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) {
      out += s[i];
    } else if (c === 0x5c) {
      out += '\\\\';
    } else if (c > 0xff) {
      out += '\\u{' + c.toString(16) + '}';
    } else {
      out += NAMED[c] ?? '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return out;
}
