import { createDatabase } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { messageOf } from './engine/run-step';
import { withoutQueryParams } from './query-error';

describe('a failed query as an operator sees it', () => {
  it("names the driver's error, never the query's parameters (legacy values such as patient refs)", async () => {
    const handle = await createDatabase('pglite:memory');
    try {
      const thrown = await handle.db.execute(sql`select ${'Patient/p-000123'}::int as n`).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(thrown).toBeInstanceOf(Error);
      const message = messageOf(thrown);
      expect(message).toBe('database query failed (SQLSTATE 22P02): invalid input syntax for type integer: "…"');
      expect(message).not.toContain('p-000123');
      expect((withoutQueryParams(thrown) as Error).stack).not.toContain('p-000123');
    } finally {
      await handle.close();
    }
  });
});
