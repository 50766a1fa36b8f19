/** What `test-connection` stores on the tenant config (`last_connection_test`). */
export interface ConnectionCheck {
  id: 'reachable' | 'tls' | 'config_js' | 'external_api_js' | 'token_verifies';
  ok: boolean;
  /** A short reason, never a secret or a token. */
  detail?: string;
}

export interface ConnectionTestResult {
  ok: boolean;
  testedAt: string;
  checks: ConnectionCheck[];
}

export interface JitsiProbe {
  /**
   * Checks a tenant's Jitsi deployment: reachable, TLS valid (https URLs), `config.js` and `external_api.js`
   * served, and that `token` (a minted Jitsi JWT) verifies with `verify`. Never throws for a failing check.
   */
  testConnection(input: { serverUrl: string; token: string; verify: (token: string) => Promise<boolean> }): Promise<ConnectionTestResult>;
}
