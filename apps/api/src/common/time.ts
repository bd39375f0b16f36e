/**
 * Timestamps are stored as ISO-8601 UTC strings (`2026-11-25T10:00:00.000Z`) in varchar(30)
 * columns: the same text on SQLite and PostgreSQL, no driver time-zone conversions, and they sort
 * and compare as text in time order.
 */
export const nowIso = (): string => new Date().toISOString();
export const isoAfter = (seconds: number, from = Date.now()): string => new Date(from + seconds * 1000).toISOString();
/** An instant as people read it in a notice or email: `2026-11-25 10:00 UTC` (to the minute). */
export const utcText = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
