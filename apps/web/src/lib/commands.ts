// Machine commands as the SPA sends them: POST /api/machines/{id}/{command} with If-Match set to
// the machine as the user saw it (its etag), so a command never applies to a machine that changed
// meanwhile. Start and resume cost money: they carry the action's Idempotency-Key.
import { api, call, ifMatch, type Machine } from './api';
import { idempotencyHeader } from './idempotency';
import type { MachineCommand } from './machines';

export type BootFrom = 'disk' | 'cdrom';

export function sendCommand(
  machine: Pick<Machine, 'id' | 'version' | 'etag'>,
  command: MachineCommand,
  idempotencyKey: string,
  bootFrom?: BootFrom,
): Promise<Machine> {
  const options = { params: { path: { id: machine.id } }, headers: ifMatch(machine) };
  const paid = { params: options.params, headers: { ...options.headers, ...idempotencyHeader(idempotencyKey) } };
  switch (command) {
    case 'start':
      return call(api.POST('/api/machines/{id}/start', { ...paid, body: bootFrom ? { bootFrom } : {} }));
    case 'stop':
      return call(api.POST('/api/machines/{id}/stop', options));
    case 'forceStop':
      return call(api.POST('/api/machines/{id}/stop', { ...options, body: { force: true } }));
    case 'reboot':
      return call(api.POST('/api/machines/{id}/reboot', options));
    case 'reset':
      return call(api.POST('/api/machines/{id}/reset', options));
    case 'suspend':
      return call(api.POST('/api/machines/{id}/suspend', options));
    case 'resume':
      return call(api.POST('/api/machines/{id}/resume', paid));
  }
}

/** Ctrl-Alt-Del through the API, so it reaches the guest the same way for every viewer. */
export function sendCtrlAltDel(machineId: string): Promise<unknown> {
  return call(api.POST('/api/machines/{id}/keys', { params: { path: { id: machineId } }, body: { keys: ['ctrl', 'alt', 'delete'] } }));
}

/** A fresh single-use console token; noVNC connects to `path` within its 30 s. */
export function openConsole(machineId: string) {
  return call(api.POST('/api/machines/{id}/console', { params: { path: { id: machineId } } }));
}
