import type { AgentErrorCode, AgentFailure } from '@virtuoso/contracts';
import { InvalidMachineStateError, MachineNotFoundError, SuspendFailedError } from '../vmm/vmm-driver';
import { FrontendRefusedError } from './frontend-client';

/** A command that cannot be carried out, with the reply code the front-end gets. */
export class CommandError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Driver and agent errors → reply codes. */
export function toFailure(e: unknown): AgentFailure {
  if (e instanceof CommandError) return { ok: false, code: e.code, error: e.message };
  if (e instanceof MachineNotFoundError) return { ok: false, code: 'not-found', error: e.message };
  if (e instanceof InvalidMachineStateError) return { ok: false, code: 'conflict', error: e.message };
  if (e instanceof SuspendFailedError) return { ok: false, code: 'refused', error: e.message };
  if (e instanceof FrontendRefusedError) return { ok: false, code: 'failed', error: `the front-end refused a download: ${e.message}` };
  const msg = e instanceof Error ? e.message : String(e);
  return { ok: false, code: 'failed', error: msg.split('\n')[0]!.slice(0, 1000) || 'failed' };
}
