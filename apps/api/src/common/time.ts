/**
 * Timestamps are stored as ISO-8601 UTC strings (`2026-11-25T10:00:00.000Z`) in varchar(30)
 * columns: the same text on SQLite and PostgreSQL, no driver time-zone conversions, and they sort
 * and compare as text in time order.
 */
import type { Clock } from './clock';

/** The clock's now as stored (services read time from the injected CLOCK, never the system's, so tests can drive it). */
export const nowIso = (clock: Clock): string => new Date(clock.now()).toISOString();
export const isoAfter = (seconds: number, from: number): string => new Date(from + seconds * 1000).toISOString();
/** An instant as people read it in a notice or email: `2026-11-25 10:00 UTC` (to the minute). */
export const utcText = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
