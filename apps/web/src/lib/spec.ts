// A configuration the buyer has not registered yet travels between pages in the URL, so the
// search results of an unregistered configuration (report searchproviderspre.pl) survive a reload.
import { toPrice, toWholeNumber } from './format';

/** The configure form as typed (all text). */
export interface ConfigForm {
  name: string;
  processor: string;
  os: string;
  speed: string;
  memory: string;
  disk: string;
  askedStoragePerMonth: string;
  askedRunningPerHour: string;
  configurationId: string;
}

export const CONFIG_FIELDS: (keyof ConfigForm)[] = [
  'name',
  'processor',
  'os',
  'speed',
  'memory',
  'disk',
  'askedStoragePerMonth',
  'askedRunningPerHour',
  'configurationId',
];

export const EMPTY_CONFIG: ConfigForm = {
  name: '',
  processor: '',
  os: '',
  speed: '',
  memory: '',
  disk: '',
  askedStoragePerMonth: '',
  askedRunningPerHour: '',
  configurationId: '',
};

export function configToSearchParams(form: ConfigForm): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of CONFIG_FIELDS) if (form[key] !== '') params.set(key, form[key]);
  return params;
}

export function configFromSearchParams(params: URLSearchParams): ConfigForm {
  const form = { ...EMPTY_CONFIG };
  for (const key of CONFIG_FIELDS) form[key] = params.get(key) ?? '';
  return form;
}

/** The body of POST /api/machines (RegisterMachineDto). */
export function toRegisterBody(form: ConfigForm) {
  return {
    name: form.name.trim(),
    processor: form.processor.trim(),
    os: form.os.trim(),
    ...toSpecBody(form),
    ...(form.configurationId ? { configurationId: form.configurationId } : {}),
  };
}

/** The body of PATCH /api/machines/{id} (UpdateMachineDto); a preconfigured machine keeps its image's OS and disk. */
export function toUpdateBody(form: ConfigForm, preconfigured: boolean) {
  const { disk, ...spec } = toSpecBody(form);
  return {
    name: form.name.trim(),
    processor: form.processor.trim(),
    ...(preconfigured ? {} : { os: form.os.trim(), disk }),
    ...spec,
  };
}

/** The body of POST /api/market/search (MachineSpecDto). */
export function toSpecBody(form: ConfigForm) {
  return {
    speed: toWholeNumber(form.speed),
    memory: toWholeNumber(form.memory),
    disk: toWholeNumber(form.disk),
    askedStoragePerMonth: toPrice(form.askedStoragePerMonth),
    askedRunningPerHour: toPrice(form.askedRunningPerHour),
  };
}

interface Sized {
  name: string;
  processor: string;
  os: string;
  speed: number;
  memory: number;
  disk: number;
}

/** Prefill from a catalog entry: its market averages become the asked prices (empty if none yet). */
export function configFromCatalog(
  entry: Sized & {
    id: string;
    averageStoragePerMonth: string | null;
    averageRunningPerHour: string | null;
  },
): ConfigForm {
  return {
    ...sizeToText(entry),
    askedStoragePerMonth: entry.averageStoragePerMonth ?? '',
    askedRunningPerHour: entry.averageRunningPerHour ?? '',
    configurationId: entry.id,
  };
}

/** Prefill from a registered machine (report fig. 13). */
export function configFromMachine(machine: Sized & { askedStoragePerMonth: string; askedRunningPerHour: string }): ConfigForm {
  return {
    ...sizeToText(machine),
    askedStoragePerMonth: machine.askedStoragePerMonth,
    askedRunningPerHour: machine.askedRunningPerHour,
    configurationId: '',
  };
}

function sizeToText(source: Sized) {
  return {
    name: source.name,
    processor: source.processor,
    os: source.os,
    speed: String(source.speed),
    memory: String(source.memory),
    disk: String(source.disk),
  };
}
