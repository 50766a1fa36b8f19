/**
 * UTF-8 decoding that keeps going past bytes that are not UTF-8, so one bad record of a CSV export is that
 * record's reject instead of the whole file's failure. Each invalid byte becomes a lone low surrogate
 * U+DC80–U+DCFF (Python's "surrogateescape"): a valid UTF-8 decode can never produce one, so a record that
 * holds one is known to carry invalid bytes (and which), and the bytes can be shown escaped (`\xNN`).
 */

/** A lone escaped byte (a low surrogate not preceded by a high one: a valid pair's low half is not it). */
export const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
const ESCAPED_BYTES = new RegExp(ESCAPED_BYTE.source, 'g');

/** The text with each escaped byte written `\xNN` (for a reject's raw record). */
export function showEscapedBytes(text: string): string {
  return text.replace(ESCAPED_BYTES, (unit) => `\\x${(unit.charCodeAt(0) - 0xdc00).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none (Unicode Table 3-7). */
function sequenceAt(buf: Buffer, i: number): number {
  const b = buf[i]!;
  if (b < 0x80) return 1;
  const [len, lo, hi] =
    b >= 0xc2 && b <= 0xdf
      ? [2, 0x80, 0xbf]
      : b === 0xe0
        ? [3, 0xa0, 0xbf]
        : b === 0xed
          ? [3, 0x80, 0x9f]
          : b >= 0xe1 && b <= 0xef
            ? [3, 0x80, 0xbf]
            : b === 0xf0
              ? [4, 0x90, 0xbf]
              : b === 0xf4
                ? [4, 0x80, 0x8f]
                : b >= 0xf1 && b <= 0xf3
                  ? [4, 0x80, 0xbf]
                  : [0, 0, 0];
  if (len === 0 || i + len > buf.length) return 0;
  const second = buf[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < len; k += 1) if ((buf[i + k]! & 0xc0) !== 0x80) return 0;
  return len;
}

/** Decodes a whole buffer, escaping what is not UTF-8 (the slow path: only chunks that hold such bytes). */
export function decodeEscaping(buf: Buffer): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < buf.length;) {
    const len = sequenceAt(buf, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(0xdc00 + buf[i]!);
    i += 1;
    run = i;
  }
  return out + buf.toString('utf8', run);
}

const ASCII = /^[\x00-\x7f]*$/;
const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * A value the CSV parser read as latin1 (one character per byte: the file's bytes exactly, whatever they
 * are; RFC 4180's delimiters and quotes are ASCII, which no byte of a UTF-8 sequence can be), decoded as
 * UTF-8 with what is not UTF-8 escaped. csv-parse itself cannot do this: it decodes with Buffer, which
 * turns bad bytes into U+FFFD without a word.
 */
export function fromBytes(latin1: string): string {
  if (ASCII.test(latin1)) return latin1;
  const buf = Buffer.from(latin1, 'latin1');
  try {
    return strict.decode(buf);
  } catch {
    return decodeEscaping(buf);
  }
}
