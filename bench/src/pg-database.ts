import pg from 'pg';

/** Creates database `name` on the PostgreSQL server at `serverUrl` and returns its URL: each measured run gets a fresh target. */
export async function createPgDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).finally(() => admin.end());
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
