/**
 * The last line of defence before a report leaves the process: reports are built from legacy ids, counts
 * and codes by construction, and this walk refuses any string that looks like what must never leak — a
 * FHIR reference (`Patient/…`), a URL, an e-mail address, a token or key (a long unbroken base64/JWT run).
 * It throws naming the JSON path only, never the value.
 */
const LEAK_PATTERNS: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  // Any case: a reference lower-cased on its way (a normalised status, a hand-typed note) is still one.
  { what: 'a FHIR reference', pattern: /\b(Patient|Practitioner|RelatedPerson|Person|Encounter)\/\S/i },
  { what: 'a URL', pattern: /[a-z][a-z0-9+.-]*:\/\//i },
  { what: 'an e-mail address', pattern: /[^\s@]+@[^\s@]+\.[a-z]{2,}/i },
  { what: 'a token or key', pattern: /[A-Za-z0-9+/_=-]{32,}|eyJ[A-Za-z0-9_-]{8,}\./ },
];

// Session ids are uuids we minted: identifiers, not PHI, and they must not read as tokens.
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
// Digests and the tool's commit are labelled (`sha256:<64 hex>`, `git:<40 hex>`): hashes, not secrets.
const LABELLED_DIGEST = /\b(sha256:[0-9a-f]{64}|git:[0-9a-f]{40})\b/g;

/**
 * What a free text an operator typed (a `--reason`, a hand-edited Kong tag) may hold and the patterns above
 * do not look for: a phone number, or a person's name as two capitalised words. Checked only where such
 * text can reach a file (the evidence pack's ledger.json and Kong snapshots, a ledger flag value): elsewhere
 * headings and labels would match. A name in lower case still passes, which is why a `--reason` is never
 * kept as typed (ledger/invocation.ts).
 */
export const PERSONAL_DATA: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  { what: 'a phone number', pattern: /(?<![\w.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}(?![\w.-])/ },
  { what: "a person's name", pattern: /\b\p{Lu}\p{Ll}+(?:[ ]\p{Lu}\.?)?[ ]\p{Lu}\p{Ll}+\b/u },
];

/** What {@link PERSONAL_DATA} `text` looks like it holds (minted uuids aside), if any. */
export function findPersonalData(text: string): string | undefined {
  const scrubbed = text.replace(UUID, 'uuid');
  return PERSONAL_DATA.find((p) => p.pattern.test(scrubbed))?.what;
}

export class PhiLeakError extends Error {
  override readonly name = 'PhiLeakError';
  constructor(readonly path: string, readonly what: string) {
    super(`report refused: ${path} looks like ${what}; reports carry legacy ids, counts and codes only`);
  }
}

/** Throws a {@link PhiLeakError} when any string in `value` looks like PHI or a secret. */
export function assertNoPhi(value: unknown, path = '$'): void {
  if (typeof value === 'string') {
    const scrubbed = value.replace(UUID, 'uuid').replace(LABELLED_DIGEST, 'digest');
    const hit = LEAK_PATTERNS.find((p) => p.pattern.test(scrubbed));
    if (hit) throw new PhiLeakError(path, hit.what);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoPhi(item, `${path}[${i}]`));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      assertNoPhi(key, `${path}.<key>`);
      assertNoPhi(item, `${path}.${key}`);
    }
  }
}
