import { ApiError } from './errors';

/**
 * Per-user quotas (VIRTUOSO_QUOTA_*): one user cannot fill the database or the disk. Each is
 * checked inside the transaction that adds the row, so on SQLite (transactions queued) two
 * requests at once cannot both slip under it.
 */
export type CountQuota = 'apiTokens' | 'hosts' | 'machines';

const COUNTED: Record<CountQuota, { things: string; advice: string }> = {
  apiTokens: { things: 'API tokens', advice: 'revoke one first' },
  hosts: { things: 'hosts', advice: 'delete one first' },
  machines: { things: 'machines (deleted ones do not count)', advice: 'delete one first' },
};

/** 409 when a user who has `count` of them may not add one more. */
export function assertUnderQuota(quota: CountQuota, count: number, limit: number): void {
  if (count < limit) return;
  const { things, advice } = COUNTED[quota];
  throw new ApiError(409, `quota ${quota} reached: a user may have at most ${limit} ${things}; ${advice}`);
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${Math.ceil(bytes / MB)} MB`;

/** 413 when a medium of `adding` bytes would take the user's library past its quota. */
export function assertMediaUnderQuota(usedBytes: number, addingBytes: number, limitBytes: number): void {
  if (usedBytes + addingBytes <= limitBytes) return;
  throw new ApiError(
    413,
    `quota mediaBytes reached: a media library may hold at most ${mb(limitBytes)}; yours holds ${mb(usedBytes)} and this file is ${mb(addingBytes)}; delete media first`,
    { fields: { file: [`file would take your media library past its ${mb(limitBytes)} quota`] } },
  );
}
