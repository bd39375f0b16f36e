// Machine commands as the SPA sends them: POST /api/machines/{id}/{command} with If-Match set to
// the version the user saw, so a command never applies to a machine that changed meanwhile.
import { api, call, ifMatch, type Machine } from './api';
import type { MachineCommand } from './machines';

export type BootFrom = 'disk' | 'cdrom';

export function sendCommand(machine: Pick<Machine, 'id' | 'version'>, command: MachineCommand, bootFrom?: BootFrom): Promise<Machine> {
  const options = { params: { path: { id: machine.id } }, headers: ifMatch(machine.version) };
  switch (command) {
    case 'start':
      return call(api.POST('/api/machines/{id}/start', { ...options, body: bootFrom ? { bootFrom } : {} }));
    case 'stop':
      return call(api.POST('/api/machines/{id}/stop', options));
    case 'suspend':
      return call(api.POST('/api/machines/{id}/suspend', options));
    case 'resume':
      return call(api.POST('/api/machines/{id}/resume', options));
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
