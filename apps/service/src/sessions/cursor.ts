import { AppError } from '../errors';
import type { PageCursor } from './repo';

/** Opaque page cursors: base64url of the last row's (createdAt, id). */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

export function decodeCursor(raw: string): PageCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('malformed cursor');
    return { createdAt: date, id };
  } catch (error) {
    throw new AppError('validation_failed', 'invalid query.cursor', {
      cause: error,
      errors: [{ field: 'query.cursor', message: 'expected the nextCursor of a previous page' }],
    });
  }
}
