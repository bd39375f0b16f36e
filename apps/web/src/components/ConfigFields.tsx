import type { Configuration } from '../lib/api';
import type { ConfigForm } from '../lib/spec';
import { Field, fieldErrors } from './forms';

/**
 * The configuration fields of the report's fig. 7 / 13, shared by Configure and Edit.
 * Suggestions come from the catalog; any value may be typed.
 */
export function ConfigFields({
  form,
  set,
  error,
  catalog,
  lockImage,
}: {
  form: ConfigForm;
  set: (key: keyof ConfigForm, value: string) => void;
  error: unknown;
  catalog?: Configuration[];
  /** A preconfigured machine's OS and disk follow its image. */
  lockImage?: boolean;
}) {
  const unique = (values: (string | number)[]) => [...new Set(values.map(String))];
  const processors = unique(catalog?.map((c) => c.processor) ?? []);
  const oses = unique(catalog?.map((c) => c.os) ?? []);
  const speeds = unique(catalog?.map((c) => c.speed) ?? []);
  const memories = unique(catalog?.map((c) => c.memory) ?? []);
  const disks = unique(catalog?.map((c) => c.disk) ?? []);
  const errors = (name: keyof ConfigForm) => fieldErrors(error, name);
  return (
    <>
      <div className="form-grid">
        <Field label="Name" value={form.name} onChange={(v) => set('name', v)} errors={errors('name')} autoComplete="off" />
        <Field label="Processor" value={form.processor} onChange={(v) => set('processor', v)} list="processors" errors={errors('processor')} />
        <Field label="Speed" value={form.speed} onChange={(v) => set('speed', v)} unit="bogomips" inputMode="numeric" list="speeds" errors={errors('speed')} />
        <Field
          label="Operating system"
          value={form.os}
          onChange={lockImage ? undefined : (v) => set('os', v)}
          locked={lockImage}
          list="oses"
          errors={errors('os')}
          hint={lockImage ? 'Installed on the preconfigured image.' : undefined}
        />
        <Field label="Memory" value={form.memory} onChange={(v) => set('memory', v)} unit="MB" inputMode="numeric" list="memories" errors={errors('memory')} />
        <Field
          label="Disk"
          value={form.disk}
          onChange={lockImage ? undefined : (v) => set('disk', v)}
          locked={lockImage}
          unit="MB"
          inputMode="numeric"
          list="disks"
          errors={errors('disk')}
          hint={lockImage ? 'The size of the preconfigured image.' : undefined}
        />
      </div>
      <h2 className="form-section">Your bid</h2>
      <p className="muted">The highest prices you will pay. Only providers at or below both are listed.</p>
      <div className="form-grid">
        <Field
          label="Asked storage price per month"
          value={form.askedStoragePerMonth}
          onChange={(v) => set('askedStoragePerMonth', v)}
          unit="$ / month"
          inputMode="decimal"
          errors={errors('askedStoragePerMonth')}
        />
        <Field
          label="Asked running price per hour"
          value={form.askedRunningPerHour}
          onChange={(v) => set('askedRunningPerHour', v)}
          unit="$ / hour"
          inputMode="decimal"
          errors={errors('askedRunningPerHour')}
        />
      </div>
      <Datalist id="processors" values={processors} />
      <Datalist id="oses" values={oses} />
      <Datalist id="speeds" values={speeds} />
      <Datalist id="memories" values={memories} />
      <Datalist id="disks" values={disks} />
    </>
  );
}

function Datalist({ id, values }: { id: string; values: string[] }) {
  return (
    <datalist id={id}>
      {values.map((value) => (
        <option key={value} value={value} />
      ))}
    </datalist>
  );
}
