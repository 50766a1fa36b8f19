import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * A reply body as text. No request asks for compression, but a server or proxy may compress anyway (fetch,
 * which this replaced, decoded these too), so the codings HTTP servers use are undone here.
 */
export function decodeBody(raw: Buffer, encoding: string | undefined): string {
  const coding = encoding?.trim().toLowerCase();
  if (!coding || coding === 'identity' || raw.length === 0) return raw.toString('utf8');
  if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(raw).toString('utf8');
  if (coding === 'deflate') return inflateSync(raw).toString('utf8');
  if (coding === 'br') return brotliDecompressSync(raw).toString('utf8');
  throw new Error(`a reply body in an unknown content coding: ${coding}`);
}
