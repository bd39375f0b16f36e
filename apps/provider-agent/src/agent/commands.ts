import type {
  AgentRetireCommand,
  ConsoleOpenCommand,
  VmCommand,
  VmCreateCommand,
  VmMediaCommand,
  VmSendKeysCommand,
  VmStartCommand,
  VmStopCommand,
} from '@virtuoso/contracts';
import { CommandError } from './errors';

/**
 * Shape checks of verified command bodies. A signed body comes from the front-end, but a bug
 * there must give a clear 'failed' reply, not a TypeError deep in the driver.
 */
type Obj = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bad(pattern: string, msg: string): never {
  throw new CommandError('failed', `invalid ${pattern} command: ${msg}`);
}

function obj(pattern: string, b: unknown): Obj {
  if (!b || typeof b !== 'object' || Array.isArray(b)) bad(pattern, 'an object is expected');
  return b as Obj;
}

function int(pattern: string, b: Obj, k: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = b[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(pattern, `${k} must be a whole number from ${min} to ${max}`);
  return v;
}

function str(pattern: string, b: Obj, k: string, re?: RegExp): string {
  const v = b[k];
  if (typeof v !== 'string' || !v || (re && !re.test(v))) bad(pattern, `${k} is missing or malformed`);
  return v;
}

function machineId(pattern: string, b: Obj): string {
  return str(pattern, b, 'machineId', UUID).toLowerCase();
}

export function parseVmCommand(pattern: string, body: unknown): VmCommand {
  const b = obj(pattern, body);
  return { machineId: machineId(pattern, b), version: int(pattern, b, 'version', 0) };
}

export function parseCreate(pattern: string, body: unknown): VmCreateCommand {
  const b = obj(pattern, body);
  const cmd: VmCreateCommand = {
    machineId: machineId(pattern, b),
    mac: str(pattern, b, 'mac', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i),
    vcpus: int(pattern, b, 'vcpus', 1, 256),
    memoryMb: int(pattern, b, 'memoryMb', 16, 4 * 1024 * 1024),
    diskMb: int(pattern, b, 'diskMb', 1, 64 * 1024 * 1024),
    version: int(pattern, b, 'version', 0),
  };
  if (b['image'] !== undefined && b['image'] !== null) {
    const i = obj(pattern, b['image']);
    cmd.image = { name: str(pattern, i, 'name'), sha256: str(pattern, i, 'sha256', /^[0-9a-f]{64}$/i).toLowerCase() };
  }
  return cmd;
}

export function parseStart(pattern: string, body: unknown): VmStartCommand {
  const b = obj(pattern, body);
  const cmd: VmStartCommand = parseVmCommand(pattern, b);
  if (b['bootFrom'] !== undefined) {
    if (b['bootFrom'] !== 'disk' && b['bootFrom'] !== 'cdrom') bad(pattern, "bootFrom must be 'disk' or 'cdrom'");
    cmd.bootFrom = b['bootFrom'];
  }
  return cmd;
}

export function parseStop(pattern: string, body: unknown): VmStopCommand {
  const b = obj(pattern, body);
  const cmd: VmStopCommand = parseVmCommand(pattern, b);
  if (b['timeoutMs'] !== undefined) cmd.timeoutMs = int(pattern, b, 'timeoutMs', 0, 600_000);
  if (b['force'] !== undefined) {
    if (typeof b['force'] !== 'boolean') bad(pattern, 'force must be true or false');
    cmd.force = b['force'];
  }
  return cmd;
}

export function parseRetire(pattern: string, body: unknown): AgentRetireCommand {
  const b = obj(pattern, body);
  const reason = b['reason'];
  if (typeof reason !== 'string' || reason.length > 500) bad(pattern, 'reason must be a text of at most 500 characters');
  return { reason };
}

export function parseMedia(pattern: string, body: unknown): VmMediaCommand {
  const b = obj(pattern, body);
  const m = obj(pattern, b['media']);
  return { ...parseVmCommand(pattern, b), media: { id: str(pattern, m, 'id'), sha256: str(pattern, m, 'sha256', /^[0-9a-f]{64}$/i).toLowerCase() } };
}

export function parseSendKeys(pattern: string, body: unknown): VmSendKeysCommand {
  const b = obj(pattern, body);
  const keys = b['keys'];
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 8 || !keys.every((k) => typeof k === 'string' && /^[a-z0-9_]{1,24}$/.test(k))) {
    bad(pattern, "keys must be 1 to 8 QEMU qcodes pressed together, e.g. ['ctrl', 'alt', 'delete']");
  }
  const cmd: VmSendKeysCommand = { machineId: machineId(pattern, b), keys: keys as string[] };
  if (b['version'] !== undefined) cmd.version = int(pattern, b, 'version', 0);
  return cmd;
}

export function parseConsoleOpen(pattern: string, body: unknown): ConsoleOpenCommand {
  const b = obj(pattern, body);
  return {
    machineId: machineId(pattern, b),
    ticket: str(pattern, b, 'ticket', /^[\x21-\x7e]{16,512}$/),
    expiresAt: int(pattern, b, 'expiresAt', 0),
  };
}
