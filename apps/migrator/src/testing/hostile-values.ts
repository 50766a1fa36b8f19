import fc from 'fast-check';

/**
 * Test support: the hostile legacy values the property tests of S1 and S4 feed through (issue #15):
 * any unicode (lone surrogates included), NUL, huge strings, bad datetimes, bad JSON. Shared so both
 * phases face the same kinds of row.
 */

/** A legacy text: binary unicode up to `maxLength`, empty, NULL, one ending in NUL, or `hugeKinds` sizes from 1000 bytes up by `hugeStep`. */
export const hostileText = (maxLength: number, hugeKinds: number, hugeStep: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.constant(''),
    fc.constant(null),
    fc.string({ maxLength: 5 }).map((s) => `${s}\u0000`),
    fc.nat(hugeKinds - 1).map((n) => 'x'.repeat(1000 + n * hugeStep)),
  );

/** A legacy datetime: one of `valid`, MySQL's zero date, binary junk up to `maxLength`, or NULL. */
export const hostileDate = (valid: readonly string[], maxLength: number) =>
  fc.oneof(...valid.map((v) => fc.constant<string | null>(v)), fc.constant('0000-00-00 00:00:00'), fc.string({ unit: 'binary', maxLength }), fc.constant(null));

/**
 * A participant event of one of `entities` (keys the caller maps to legacy session ids). Good actors and
 * instants are the likelier draw, so runs fold events into shared participants, not only reject them.
 */
export const hostileEvent = <E extends string>(entities: readonly E[], text: fc.Arbitrary<string | null>, date: fc.Arbitrary<string | null>) =>
  fc.record({
    entity: fc.constantFrom(...entities),
    action: fc.constantFrom('participant.joined', 'participant.left'),
    actorRef: fc.oneof({ arbitrary: text, weight: 1 }, { arbitrary: fc.constantFrom('Practitioner/d-1', 'Patient/p-1', 'RelatedPerson/rp-9'), weight: 2 }),
    actorDisplay: text,
    payload: fc.oneof(
      fc.constant(null),
      fc.constant('{"role":"interpreter"}'),
      fc.constant('{"role":'),
      fc.constant('[1,'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    occurredAt: fc.oneof({ arbitrary: date, weight: 1 }, { arbitrary: date.filter((d) => d !== null && /^\d{4}-\d\d-\d\d \d/.test(d)), weight: 1 }),
  });
