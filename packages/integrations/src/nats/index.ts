export { DEFAULT_STREAM, DEFAULT_SUBJECTS, type EventStream, type EventStreamOptions, type PublishAck } from './types';
export { connectEventStream } from './event-stream';
export { EventStreamError, type EventStreamErrorCode } from './errors';
export { startNatsServer, type NatsServerProcess } from './nats-server';
