import type { EncounterResource } from '@vc/domain/encounter';
import { IntegrationError } from '@vc/integrations/errors';
import { SESSION_IDENTIFIER_SYSTEM, type FhirClient } from '@vc/integrations/fhir';
import type { EventStream } from '@vc/integrations/nats';
import { backoffDelay } from '@vc/integrations/retry';
import type { Database, OutboxRow } from '@vc/schema';
import { markBillingPublished } from '../billing/repo';
import { safeError } from '../log-safe';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { setEncounterRef } from '../sessions/repo';
import { claimDue, markFailed, markPublished, markRefused, type OutboxKind } from './repo';
import { refusalOf } from './refusal';
import { withoutWithheldData } from './withheld';

export interface RelayOptions {
  db: Database;
  eventStream: EventStream | undefined;
  fhir: FhirClient | undefined;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  batchSize?: number;
  /** Idle wait between polls when nothing was due. */
  intervalMs?: number;
  /** How long a claimed row is reserved for this replica. */
  leaseMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Put before every event subject (`t1a2b.` → `t1a2b.virtual_care.session.ended`): lets test files share one nats-server. */
  subjectPrefix?: string;
}

export interface RelayPassResult {
  published: number;
  failed: number;
}

/**
 * The outbox relay: publishes CloudEvents to JetStream (structured mode: the event's JSON is the message, with
 * `Content-Type: application/cloudevents+json` and `Nats-Msg-Id` = event id) and creates FHIR
 * Encounters by conditional create, storing `encounter_ref`. Each row is retried with exponential backoff
 * (or after the server's Retry-After) until it succeeds or, for a FHIR request refused for good, is parked; several replicas may run at once.
 */
export class OutboxRelay {
  private readonly opts: Required<Omit<RelayOptions, 'eventStream' | 'fhir' | 'metrics'>> & Pick<RelayOptions, 'eventStream' | 'fhir' | 'metrics'>;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(options: RelayOptions) {
    this.opts = {
      now: () => new Date(),
      batchSize: 50,
      intervalMs: 500,
      leaseMs: 30_000,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
      subjectPrefix: '',
      ...options,
    };
  }

  /** Kinds this relay can deliver: without a stream, events wait in the outbox (the embedded default). */
  private kinds(): OutboxKind[] {
    return [...(this.opts.eventStream ? (['event'] as const) : []), ...(this.opts.fhir ? (['fhir_encounter'] as const) : [])];
  }

  /** One pass: claim what is due and deliver it. Exposed for tests and for draining on shutdown. */
  async runOnce(): Promise<RelayPassResult> {
    const rows = await claimDue(this.opts.db, this.kinds(), this.opts.batchSize, this.opts.now(), this.opts.leaseMs);
    let failed = 0;
    // Once FHIR fails in this pass, the rest of its rows wait for the next one: a dead FHIR server costs
    // one timeout per pass, not one per row, and the pass stays well inside the lease.
    const down = new Map<OutboxKind, string>();
    const delivered: OutboxRow[] = [];
    // Events are all sent at once: the NATS client writes them to the socket together and JetStream acks
    // them in the order sent, where one at a time cost a socket write and a wait per event. They reach the
    // stream in row order; a hung NATS still costs one publish timeout per pass, as they wait side by side.
    const sent = new Map(rows.filter((row) => row.kind === 'event').map((row) => [row, this.deliver(row)] as const));
    for (const row of rows) {
      const earlier = down.get(row.kind);
      const outcome = sent.get(row) ?? (earlier !== undefined ? { error: undefined, message: `not tried: ${earlier}` } : this.deliver(row));
      const failure = await outcome;
      if (failure === undefined) {
        delivered.push(row);
        continue;
      }
      failed += 1;
      const refusal = earlier === undefined ? refusalOf(row, failure.error) : undefined;
      if (refusal !== undefined) {
        // This request, not the server, is the problem: the rest of the pass still goes to FHIR.
        await this.park(row, refusal, failure.message);
        continue;
      }
      if (earlier === undefined) {
        down.set(row.kind, failure.message);
        // One line per target and pass. The row id and subject identify the row; its payload (patient refs)
        // stays out of the log, and so does the error's message: a FHIR server's or NATS' reply may quote
        // what was sent. The log gets the safe error (class, code, …); the message stays on the row's
        // last_error, next to the payload it may quote.
        this.opts.logger.warn(
          { outboxId: row.id, kind: row.kind, eventType: row.subject, attempts: row.attempts + 1, err: safeError(failure.error) },
          'outbox delivery failed; will retry',
        );
      }
      await this.reschedule(row, failure.message, retryAfterOf(failure.error));
    }
    // One UPDATE for the pass, not one per row: marking row by row was a statement and a round trip per
    // event, about half of the relay's CPU per event and a quarter of PostgreSQL's (bench/service/relay.ts).
    // Rows delivered but not yet marked when the process dies come round again once their lease ends, as a
    // single row did before: the stream drops them by Nats-Msg-Id, FHIR by the conditional create.
    await markPublished(
      this.opts.db,
      delivered.map((row) => row.id),
      this.opts.now(),
    );
    for (const row of delivered) this.opts.metrics?.outboxRelayed.inc({ kind: row.kind, outcome: 'published' });
    return { published: delivered.length, failed };
  }

  /** Delivers one row (the pass marks it); resolves to why it failed, or undefined. Never rejects. */
  private async deliver(row: OutboxRow): Promise<{ error: unknown; message: string } | undefined> {
    try {
      if (row.kind === 'event') await this.publishEvent(row);
      else await this.createEncounter(row);
      return undefined;
    } catch (error) {
      return { error, message: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' };
    }
  }

  /** A server that said when to come back (Retry-After, capped by the client) is not asked sooner. */
  private async reschedule(row: OutboxRow, error: string, retryAfterMs: number | undefined): Promise<void> {
    const delay = Math.max(backoffDelay(row.attempts + 1, this.opts.backoff.baseMs, this.opts.backoff.maxMs), retryAfterMs ?? 0);
    await markFailed(this.opts.db, row.id, new Date(this.opts.now().getTime() + Math.max(delay, 1)), error);
    this.opts.metrics?.outboxRelayed.inc({ kind: row.kind, outcome: 'failed' });
  }

  /** Refused for good: parked for an operator, with one line and a metric; never retried blindly. */
  private async park(row: OutboxRow, reason: string, error: string): Promise<void> {
    await markRefused(this.opts.db, row.id, this.opts.now(), reason, error);
    this.opts.metrics?.outboxRelayed.inc({ kind: row.kind, outcome: 'refused' });
    this.opts.logger.warn(
      { outboxId: row.id, kind: row.kind, sessionId: row.aggregateId, attempts: row.attempts + 1, reason },
      'outbox row refused for good by its target; parked, not retried (see README: requeue)',
    );
  }

  private async publishEvent(row: OutboxRow): Promise<void> {
    const { event, withheld } = withoutWithheldData(row.payload);
    // The field names only: their values are what must not travel, to the stream or to the log.
    if (withheld.length > 0)
      this.opts.logger.warn({ outboxId: row.id, eventType: row.subject, withheld }, 'outbox event data held fields never published; left them out');
    await this.opts.eventStream!.publish(`${this.opts.subjectPrefix}${row.subject}`, new TextEncoder().encode(JSON.stringify(event)), row.id);
    if (row.subject === 'virtual_care.billing.created') {
      const billingEventId = (row.payload as { data?: { billingEventId?: string } }).data?.billingEventId;
      if (billingEventId) await markBillingPublished(this.opts.db, row.tenantId, billingEventId);
    }
  }

  private async createEncounter(row: OutboxRow): Promise<void> {
    const encounter = (row.payload as { encounter: EncounterResource }).encounter;
    const sessionId = row.aggregateId!;
    const { ref } = await this.opts.fhir!.createEncounterIfAbsent(encounter as unknown as Parameters<FhirClient['createEncounterIfAbsent']>[0], {
      system: SESSION_IDENTIFIER_SYSTEM,
      value: sessionId,
    });
    await setEncounterRef(this.opts.db, row.tenantId, sessionId, ref, this.opts.now());
  }

  /** Starts polling; a pass that found work is followed at once by the next. */
  start(): void {
    if (this.running || this.kinds().length === 0) return;
    this.stopping = false;
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let result: RelayPassResult = { published: 0, failed: 0 };
      try {
        result = await this.runOnce();
      } catch (error) {
        this.opts.logger.error({ err: safeError(error) }, 'outbox relay pass failed (database?); retrying');
      }
      if (this.stopping) break;
      if (result.published + result.failed === 0 || result.failed > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.opts.intervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Drains: finishes the pass in flight (rows it claimed are delivered or rescheduled), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }
}

function retryAfterOf(error: unknown): number | undefined {
  return error instanceof IntegrationError ? error.retryAfterMs : undefined;
}
