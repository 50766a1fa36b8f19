import type { WarningCode } from './codes';
import { normalise } from './text';

/** The video backends a session can have (the schema's `video_backend` enum is built from this list). */
export const VIDEO_BACKENDS = ['jitsi', 'twilio', 'zoom'] as const;
export type VideoBackend = (typeof VIDEO_BACKENDS)[number];
const KNOWN: ReadonlySet<string> = new Set<VideoBackend>(VIDEO_BACKENDS);

/**
 * Plan step 1.2: legacy `videoBackend` is NULL on every row older than the backend switch, and free
 * text after it (`JITSI`, `' jitsi'`, `''`). Every historical session gets a backend; jitsi by default.
 */
export function mapVideoBackend(raw: string | null): { videoBackend: VideoBackend; warning: WarningCode | null } {
  const value = normalise(raw);
  if (value === '' || value === '\\n') return { videoBackend: 'jitsi', warning: 'defaulted_video_backend' };
  if (KNOWN.has(value)) return { videoBackend: value as VideoBackend, warning: null };
  return { videoBackend: 'jitsi', warning: 'unknown_video_backend' };
}
