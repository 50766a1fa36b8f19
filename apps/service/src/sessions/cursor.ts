import { z } from 'zod';
import { AppError } from '../errors';
import { pgTimestamp } from '../http/primitives';
import type { PageCursor } from './repo';

/** Opaque page cursors: base64url of the last row's (createdAt, id). */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

const cursorShape = z.tuple([pgTimestamp(), z.uuid()]);

export function decodeCursor(raw: string): PageCursor {
  try {
    // A cursor is client input like any other: validated here, so a forged one never reaches PostgreSQL.
    const [createdAt, id] = cursorShape.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { createdAt: new Date(createdAt), id };
  } catch (error) {
    throw new AppError('validation_failed', 'invalid query.cursor', {
      cause: error,
      errors: [{ field: 'query.cursor', message: 'expected the nextCursor of a previous page' }],
    });
  }
}
