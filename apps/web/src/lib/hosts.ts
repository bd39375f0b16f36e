// The provider's host form (report fig. 27 / 29) as text, and its conversion to the API's bodies.
import { toPrice, toWholeNumber } from './format';

export interface HostForm {
  name: string;
  processor: string;
  speed: string;
  speedUnit: string;
  speedUnitPrice: string;
  memory: string;
  memoryUnit: string;
  memoryUnitPrice: string;
  runningUnitAmount: string;
  storage: string;
  storageUnit: string;
  storageUnitPrice: string;
  storageAmount: string;
  connectionSpeed: string;
  agentHost: string;
  agentPort: string;
}

/**
 * A new host's form: the report's units, prices and periods (fig. 27) as real values a provider
 * may keep, so the form submitted as shown is valid once the agent has filled in the machine's
 * name and totals. Only what describes the machine itself starts empty.
 */
export const EMPTY_HOST: HostForm = {
  name: '',
  processor: '',
  speed: '',
  speedUnit: '1000',
  speedUnitPrice: '0.00001',
  memory: '',
  memoryUnit: '4',
  memoryUnitPrice: '0.00001',
  runningUnitAmount: '3600',
  storage: '',
  storageUnit: '100',
  storageUnitPrice: '0.01',
  storageAmount: '30',
  connectionSpeed: '1Gbps',
  agentHost: '',
  agentPort: '',
};

/** Fields a provider may change after adding the host; everything else is locked (report §5.2.3). */
export const EDITABLE_HOST_FIELDS = [
  'speedUnit',
  'speedUnitPrice',
  'memoryUnit',
  'memoryUnitPrice',
  'runningUnitAmount',
  'storageUnit',
  'storageUnitPrice',
  'storageAmount',
] as const satisfies readonly (keyof HostForm)[];

interface HostLike {
  name: string;
  processor: string;
  speed: number;
  speedUnit: number;
  speedUnitPrice: string;
  memory: number;
  memoryUnit: number;
  memoryUnitPrice: string;
  runningUnitAmount: number;
  storage: number;
  storageUnit: number;
  storageUnitPrice: string;
  storageAmount: number;
  connectionSpeed: string;
  agentHost: string;
  agentPort: number;
}

/** A host's values as form text; `copy` renames it (report addmachineprovider.pl with a machineid). */
export function hostToForm(host: HostLike, copy = false): HostForm {
  return {
    name: copy ? `${host.name}-copy` : host.name,
    processor: host.processor,
    speed: String(host.speed),
    speedUnit: String(host.speedUnit),
    speedUnitPrice: host.speedUnitPrice,
    memory: String(host.memory),
    memoryUnit: String(host.memoryUnit),
    memoryUnitPrice: host.memoryUnitPrice,
    runningUnitAmount: String(host.runningUnitAmount),
    storage: String(host.storage),
    storageUnit: String(host.storageUnit),
    storageUnitPrice: host.storageUnitPrice,
    storageAmount: String(host.storageAmount),
    connectionSpeed: host.connectionSpeed,
    agentHost: host.agentHost,
    agentPort: String(host.agentPort),
  };
}

/**
 * POST /api/hosts (CreateHostDto). With an agent, the host is bound to it (`agentId`) and its
 * address comes from the agent; without one, the address typed in the form is sent (offline host).
 */
export function toCreateHostBody(form: HostForm, agentId?: string) {
  const common = {
    name: form.name.trim(),
    processor: form.processor.trim(),
    speed: toWholeNumber(form.speed),
    speedUnit: toWholeNumber(form.speedUnit),
    speedUnitPrice: toPrice(form.speedUnitPrice),
    memory: toWholeNumber(form.memory),
    memoryUnit: toWholeNumber(form.memoryUnit),
    memoryUnitPrice: toPrice(form.memoryUnitPrice),
    runningUnitAmount: toWholeNumber(form.runningUnitAmount),
    storage: toWholeNumber(form.storage),
    storageUnit: toWholeNumber(form.storageUnit),
    storageUnitPrice: toPrice(form.storageUnitPrice),
    storageAmount: toWholeNumber(form.storageAmount),
    connectionSpeed: form.connectionSpeed.trim(),
  };
  if (agentId) return { ...common, agentId };
  return { ...common, agentHost: form.agentHost.trim(), agentPort: toWholeNumber(form.agentPort) };
}

/** PATCH /api/hosts/{id} (UpdateHostDto): units, unit prices and periods only. */
export function toUpdateHostBody(form: HostForm) {
  const all = toCreateHostBody(form);
  return {
    speedUnit: all.speedUnit,
    speedUnitPrice: all.speedUnitPrice,
    memoryUnit: all.memoryUnit,
    memoryUnitPrice: all.memoryUnitPrice,
    runningUnitAmount: all.runningUnitAmount,
    storageUnit: all.storageUnit,
    storageUnitPrice: all.storageUnitPrice,
    storageAmount: all.storageAmount,
  };
}
