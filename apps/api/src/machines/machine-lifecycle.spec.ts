import { describe, expect, it } from 'vitest';
import { systemActor } from '../common/actor';
import type { AuthUser } from '../common/auth.decorators';
import { MachineLifecycle } from './machine-lifecycle.service';
import type { Machine } from './machine.entity';

const rows = [
  { id: 'm-1', ownerId: 'alice', state: 'running' },
  { id: 'm-2', ownerId: 'bob', state: 'deleted' },
] as Machine[];
// Only what find reads: findOneBy with an equality filter.
const repository = {
  findOneBy: async (where: Partial<Machine>) => rows.find((row) => Object.entries(where).every(([key, value]) => row[key as keyof Machine] === value)) ?? null,
};
const lifecycle = new MachineLifecycle(null as never, null as never, null as never, repository as never, null as never);
const user = (id: string): AuthUser => ({ id, handle: id, role: 'buyer', sessionId: null, tokenId: null });

describe('who may act on a machine', () => {
  it('a buyer finds only their own machines; another buyer gets 404', async () => {
    expect((await lifecycle.find(user('alice'), 'm-1')).id).toBe('m-1');
    await expect(lifecycle.find(user('mallory'), 'm-1')).rejects.toMatchObject({ status: 404 });
  });

  it('the system acts on any machine without posing as its owner, and a deleted machine is gone for it too', async () => {
    expect((await lifecycle.find(systemActor('its buyer is held for a low balance'), 'm-1')).ownerId).toBe('alice');
    await expect(lifecycle.find(systemActor('test'), 'm-2')).rejects.toMatchObject({ status: 404 });
    await expect(lifecycle.find(systemActor('test'), 'm-3')).rejects.toMatchObject({ status: 404 });
  });
});
