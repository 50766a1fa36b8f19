export { CLOUDEVENTS_CONTENT_TYPE, DEFAULT_STREAM, DEFAULT_SUBJECTS, type EventStream, type EventStreamOptions, type PublishAck } from './types';
export { connectEventStream } from './event-stream';
export { EventStreamError, type EventStreamErrorCode } from './errors';
export { startNatsServer, type NatsServerProcess } from './nats-server';
export { probeJetStream, type StreamProbe } from './probe';
export { connectWorkQueue, WORK_CONSUMER, WORK_STREAM, type WorkMessage, type WorkQueue, type WorkQueueOptions } from './work-queue';
