/**
 * Event `data` fields the relay never publishes, whoever wrote the row: the free-text cancel reason may hold
 * clinical detail, and every subscriber of the stream reads the events. The service stopped writing it, and
 * migration 0018 stripped it from the rows an earlier release left unpublished; this is the last line, for
 * a replica of that release still running during an upgrade, or any other writer of the outbox.
 */
export const WITHHELD_DATA_FIELDS = ['cancelReason'] as const;

/** The CloudEvent to publish (the row's payload without the withheld fields) and the names of those it had. */
export function withoutWithheldData(payload: Record<string, unknown>): { event: Record<string, unknown>; withheld: string[] } {
  const data = payload.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { event: payload, withheld: [] };
  const withheld = WITHHELD_DATA_FIELDS.filter((field) => Object.hasOwn(data, field));
  if (withheld.length === 0) return { event: payload, withheld };
  const kept = Object.fromEntries(Object.entries(data).filter(([field]) => !(WITHHELD_DATA_FIELDS as readonly string[]).includes(field)));
  return { event: { ...payload, data: kept }, withheld };
}
