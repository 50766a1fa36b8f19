import { connectWorkQueue, type WorkQueue } from '@vc/integrations/nats';
import type { MigratorConfig, SettingRequirement } from '../config';

/** Every distributed command needs NATS; checked before anything is opened (exit 2 naming the variable). */
export const NEEDS_NATS: SettingRequirement = {
  anyOf: ['VC_NATS_URL'],
  neededBy: 'distributed plans (enqueue, worker, plan status): the work queue is on JetStream',
};

export function openWorkQueue(config: MigratorConfig, ackWaitMs?: number): Promise<WorkQueue> {
  return connectWorkQueue({
    url: config.VC_NATS_URL!,
    subjectPrefix: config.VC_NATS_SUBJECT_PREFIX,
    stream: config.VC_NATS_WORK_STREAM,
    ...(ackWaitMs ? { ackWaitMs } : {}),
  });
}
