import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { EventStreamError } from './errors';

/** What we insist on; everything else in the stream's config is left as the server or an operator set it. */
export interface WantedStream {
  name: string;
  subjects: readonly string[];
  duplicateWindowMs: number;
}

const NANOS_PER_MS = 1_000_000;
// JetStream API error code "stream name already in use with a different configuration" / "already in use".
const STREAM_NAME_IN_USE = 10058;

const sameSubjects = (a: readonly string[] = [], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * The duplicate window the stream keeps: the wanted one, or the stream's own when that is longer. Two writers of the
 * configuration (the service at start, `migrator phase s0`, an operator) that wanted different windows would
 * otherwise flip it at every start, and a shorter one lets a message re-sent after it passes be stored twice.
 */
const keptWindow = (config: StreamConfig, wanted: WantedStream): number => Math.max(config.duplicate_window ?? 0, wanted.duplicateWindowMs * NANOS_PER_MS);

function differs(config: StreamConfig, wanted: WantedStream): boolean {
  return !sameSubjects(config.subjects, wanted.subjects) || config.duplicate_window !== keptWindow(config, wanted);
}

/**
 * Creates the stream with file storage, or updates its subjects, and its duplicate window when that is shorter.
 * Only fields nats-server 2.9 knows are sent. Storage cannot change in place, so a memory stream is an error.
 */
export async function ensureStreamConfig(jsm: JetStreamManager, wanted: WantedStream): Promise<'created' | 'updated' | 'unchanged'> {
  const info = await jsm.streams.info(wanted.name).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  });
  if (!info) {
    try {
      await jsm.streams.add({
        name: wanted.name,
        subjects: [...wanted.subjects],
        storage: StorageType.File,
        duplicate_window: wanted.duplicateWindowMs * NANOS_PER_MS,
      });
      return 'created';
    } catch (error) {
      // Another process created it between our info and add: compare with theirs instead.
      if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) return ensureStreamConfig(jsm, wanted);
      throw error;
    }
  }
  if (info.config.storage !== StorageType.File) {
    throw new EventStreamError(
      'invalid_config',
      `stream ${wanted.name} uses ${info.config.storage} storage, expected file; storage cannot be changed in place, recreate the stream`,
    );
  }
  if (!differs(info.config, wanted)) return 'unchanged';
  await jsm.streams.update(wanted.name, { ...info.config, subjects: [...wanted.subjects], duplicate_window: keptWindow(info.config, wanted) });
  return 'updated';
}
