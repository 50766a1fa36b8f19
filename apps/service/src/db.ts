import type { Database } from '@vc/schema';

/** A transaction handle of the shared Database type; repo functions take either. */
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Executor = Database | Tx;
