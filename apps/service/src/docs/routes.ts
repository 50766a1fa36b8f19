import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import { defineRoute, replySchemas, type Route } from '../http/route-table';

/**
 * `/openapi.json` and the rendered reference at `/docs` (Scalar's standalone bundle from npm, served
 * from this service: no CDN). The page loads nothing but this origin's scripts, which helmet's CSP
 * (`default-src 'self'`) also enforces; Scalar's default web fonts are off for that reason.
 */

const ASSETS = '/docs/assets';
const scalarBrowserDir = join(dirname(createRequire(import.meta.url).resolve('@scalar/api-reference')), 'browser');

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>virtual-care-service API</title></head>
<body><div id="app"></div><script src="${ASSETS}/standalone.js"></script><script src="${ASSETS}/init.js"></script></body>
</html>
`;

// An external file, not an inline script: CSP script-src 'self' refuses inline code.
const INIT = `Scalar.createApiReference('#app', { url: '/openapi.json', withDefaultFonts: false });\n`;

/** The document as a JSON object, as served: its own schema is the OpenAPI 3.1 specification's. */
const openApiDocument = z
  .looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
  .register(replySchemas, { id: 'OpenApiDocument', description: 'an OpenAPI 3.1 document (this one)' });

export function docsRoutes(document: () => unknown): Route[] {
  return [
    defineRoute({
      operationId: 'getOpenApi',
      method: 'get',
      path: '/openapi.json',
      tag: 'operations',
      summary: 'This OpenAPI document',
      roles: 'public',
      replies: { 200: { description: 'OpenAPI 3.1', schema: openApiDocument } },
      handle: () => ({ status: 200, body: document() }),
    }),
    defineRoute({
      operationId: 'getDocs',
      method: 'get',
      path: '/docs',
      tag: 'operations',
      summary: 'The rendered API reference (HTML)',
      roles: 'public',
      replies: { 200: { description: 'the reference page', type: 'text/html' } },
      handle: () => ({ status: 200, type: 'text/html', body: PAGE }),
    }),
  ];
}

/** The page's scripts: Scalar's bundle (and the chunks it loads lazily) and the init script. */
export function docsAssets(): Router {
  const router = Router();
  router.get(`${ASSETS}/init.js`, (_req, res) => {
    res.type('text/javascript').send(INIT);
  });
  // No redirect of a directory to its slash form: serve-static's is a 301 with an HTML page, and a
  // directory here has nothing to serve anyway, so it falls through to the problem+json 404.
  router.use(ASSETS, express.static(scalarBrowserDir, { index: false, redirect: false, maxAge: '1d' }));
  return router;
}
