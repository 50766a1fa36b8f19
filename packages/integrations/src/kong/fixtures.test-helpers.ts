import type { KongConfig } from './types';

/** The routing before cutover: legacy digital-communication (one route already on the new prefix) and another team's portal. */
export const previousRouting: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      tags: ['legacy'],
      plugins: [{ name: 'correlation-id', config: { header_name: 'X-Request-Id' } }],
      routes: [
        { name: 'dc-messages', paths: ['/api/v1/digital-communication/messages'] },
        {
          name: 'dc-virtual-sessions',
          paths: ['/api/v1/digital-communication/virtual-sessions'],
          methods: ['POST', 'GET'],
          plugins: [{ name: 'rate-limiting', config: { minute: 600, policy: 'local' } }],
        },
        { name: 'dc-virtual-care', paths: ['/api/v1/virtual-care'], strip_path: true },
      ],
    },
    { name: 'patient-portal', url: 'https://portal.internal:443/', routes: [{ name: 'portal', paths: ['/api/v1/portal'], strip_path: false }] },
  ],
};

export const cutoverOptions = {
  serviceUrl: 'http://virtual-care-service.internal:8080',
  newPathPrefix: '/api/v1/virtual-care',
  legacyServiceName: 'digital-communication',
};
