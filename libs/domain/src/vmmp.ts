/**
 * VMMP 1.0, the Virtual Machine Migration Protocol of the report (§7.2.1): the five messages the
 * front-end and the providers exchange about a migration, and their text form, which logs and
 * pages show as the report writes them:
 *   <VMMP 1.0 QUERY MACHINE_ID METHODS>
 *   <VMMP 1.0 RESULTS MACHINE_ID N_METHODS METHOD_1 … METHOD_N>
 *   <VMMP 1.0 REQ MACHINE_ID VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD>
 *   <VMMP 1.0 HEARTBEAT MACHINE_ID>
 *   <VMMP 1.0 RESP MACHINE_ID VERSION' SUCCESS|FAIL>
 * Two extensions, both optional so that the report's exact forms still parse and render as
 * written: a HEARTBEAT may carry the transfer's progress (bytes done, bytes in all, bytes per
 * second), and a RESP FAIL may carry the reason in words.
 */

export const VMMP_VERSION = '1.0';

/** Transfer methods (report §7.2; docs/ARCHITECTURE.md §7): SCP and RSYNC first, REDOLOG and LIVE later. */
export const VMMP_METHODS = ['SCP', 'RSYNC', 'REDOLOG', 'LIVE'] as const;
export type VmmpMethod = (typeof VMMP_METHODS)[number];

export interface VmmpProgress {
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
}

export type VmmpMessage =
  | { kind: 'QUERY'; machineId: string }
  | { kind: 'RESULTS'; machineId: string; methods: VmmpMethod[] }
  | { kind: 'REQ'; machineId: string; version: number; origin: VmmpEndpoint; central: VmmpEndpoint; method: VmmpMethod }
  | { kind: 'HEARTBEAT'; machineId: string; progress?: VmmpProgress }
  | { kind: 'RESP'; machineId: string; version: number; outcome: 'SUCCESS' | 'FAIL'; reason?: string };

export interface VmmpEndpoint {
  host: string;
  port: number;
}

export type VmmpParse = { ok: true; message: VmmpMessage } | { ok: false; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** An IPv4 or IPv6 address or a host name: no spaces, no angle brackets. */
const HOST = /^[A-Za-z0-9.:_-]{1,253}$/;
/** Words of a reason: printable, no angle brackets (they delimit the message). */
const REASON_WORD = /^[^\s<>\p{Cc}]+$/u;

/** The report's text form of a message. Throws RangeError for a message no peer could parse. */
export function renderVmmp(message: VmmpMessage): string {
  const problem = checkMessage(message);
  if (problem) throw new RangeError(`not a valid VMMP ${message.kind} message: ${problem}`);
  const words = [`VMMP`, VMMP_VERSION, message.kind, message.machineId];
  switch (message.kind) {
    case 'QUERY':
      words.push('METHODS');
      break;
    case 'RESULTS':
      words.push(String(message.methods.length), ...message.methods);
      break;
    case 'REQ':
      words.push(String(message.version), message.origin.host, String(message.origin.port), message.central.host, String(message.central.port), message.method);
      break;
    case 'HEARTBEAT':
      if (message.progress) words.push(String(message.progress.bytesDone), String(message.progress.bytesTotal), String(message.progress.bytesPerSecond));
      break;
    case 'RESP':
      words.push(String(message.version), message.outcome);
      if (message.outcome === 'FAIL' && message.reason) words.push(...message.reason.split(' '));
      break;
  }
  return `<${words.join(' ')}>`;
}

/** Parses the text form; a message of another protocol version, or malformed, says why. */
export function parseVmmp(text: string): VmmpParse {
  const fail = (reason: string): VmmpParse => ({ ok: false, reason });
  const trimmed = text.trim();
  if (!trimmed.startsWith('<') || !trimmed.endsWith('>')) return fail('a VMMP message is enclosed in < and >');
  const words = trimmed.slice(1, -1).trim().split(/\s+/);
  if (words[0] !== 'VMMP') return fail('a VMMP message starts with <VMMP');
  if (words[1] !== VMMP_VERSION) return fail(`VMMP version ${words[1] ?? '(none)'} is not supported: this side speaks VMMP ${VMMP_VERSION} only`);
  const [, , kind, machineId, ...rest] = words;
  if (!machineId || !UUID.test(machineId)) return fail(`${kind ?? 'the message'} needs a machine id (a lower-case UUID), got ${machineId ?? 'nothing'}`);
  let message: VmmpMessage;
  switch (kind) {
    case 'QUERY':
      if (rest.length !== 1 || rest[0] !== 'METHODS') return fail('QUERY ends with METHODS: <VMMP 1.0 QUERY MACHINE_ID METHODS>');
      message = { kind, machineId };
      break;
    case 'RESULTS': {
      const count = whole(rest[0]);
      if (count === null) return fail('RESULTS needs the number of methods after the machine id');
      if (rest.length !== count + 1) return fail(`RESULTS says ${count} methods but lists ${rest.length - 1}`);
      message = { kind, machineId, methods: rest.slice(1) as VmmpMethod[] };
      break;
    }
    case 'REQ': {
      if (rest.length !== 6) return fail('REQ has 6 fields after the machine id: VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD');
      const [version, originHost, originPort, centralHost, centralPort, method] = rest;
      message = {
        kind,
        machineId,
        version: whole(version) ?? -1,
        origin: { host: originHost, port: whole(originPort) ?? -1 },
        central: { host: centralHost, port: whole(centralPort) ?? -1 },
        method: method as VmmpMethod,
      };
      break;
    }
    case 'HEARTBEAT': {
      if (rest.length !== 0 && rest.length !== 3)
        return fail('HEARTBEAT has nothing after the machine id, or its progress: BYTES_DONE BYTES_TOTAL BYTES_PER_SECOND');
      const [done, total, rate] = rest.map(whole);
      message =
        rest.length === 0 ? { kind, machineId } : { kind, machineId, progress: { bytesDone: done ?? -1, bytesTotal: total ?? -1, bytesPerSecond: rate ?? -1 } };
      break;
    }
    case 'RESP': {
      const [version, outcome, ...reason] = rest;
      if (outcome !== 'SUCCESS' && outcome !== 'FAIL') return fail("RESP ends with SUCCESS or FAIL: <VMMP 1.0 RESP MACHINE_ID VERSION' SUCCESS/FAIL>");
      if (outcome === 'SUCCESS' && reason.length > 0) return fail('RESP SUCCESS has nothing after SUCCESS');
      message = { kind, machineId, version: whole(version) ?? -1, outcome, ...(reason.length > 0 ? { reason: reason.join(' ') } : {}) };
      break;
    }
    default:
      return fail(`unknown VMMP message ${kind}: expected QUERY, RESULTS, REQ, HEARTBEAT or RESP`);
  }
  const problem = checkMessage(message);
  return problem ? fail(`${kind}: ${problem}`) : { ok: true, message };
}

/** What makes a message impossible to send or accept, or null. */
function checkMessage(message: VmmpMessage): string | null {
  if (!UUID.test(message.machineId)) return 'the machine id must be a lower-case UUID';
  const method = (m: string) => (VMMP_METHODS as readonly string[]).includes(m);
  const version = (v: number) => Number.isSafeInteger(v) && v >= 0;
  const endpoint = (e: VmmpEndpoint, what: string) =>
    !HOST.test(e.host)
      ? `${what} address ${e.host} is not an address`
      : !(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535)
        ? `${what} port must be 1–65535`
        : null;
  switch (message.kind) {
    case 'QUERY':
      return null;
    case 'RESULTS': {
      const unknown = message.methods.find((m) => !method(m));
      if (unknown !== undefined) return `unknown method ${unknown}: expected ${VMMP_METHODS.join(', ')}`;
      return new Set(message.methods).size === message.methods.length ? null : 'a method is listed twice';
    }
    case 'REQ':
      if (!version(message.version)) return 'the version must be a whole number';
      if (!method(message.method)) return `unknown method ${message.method}: expected ${VMMP_METHODS.join(', ')}`;
      return endpoint(message.origin, 'the origin') ?? endpoint(message.central, 'the central');
    case 'HEARTBEAT': {
      const p = message.progress;
      if (!p) return null;
      if (![p.bytesDone, p.bytesTotal, p.bytesPerSecond].every(version)) return 'progress figures must be whole numbers of bytes';
      return p.bytesDone <= p.bytesTotal ? null : 'bytes done cannot exceed bytes in all';
    }
    case 'RESP':
      if (!version(message.version)) return 'the version must be a whole number';
      if (message.reason === undefined) return null;
      if (message.outcome !== 'FAIL') return 'only a FAIL carries a reason';
      return message.reason.split(' ').every((word) => REASON_WORD.test(word)) ? null : 'a reason is words separated by single spaces, without < or >';
  }
}

/** A whole decimal number no larger than a safe integer, or null. */
function whole(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}
