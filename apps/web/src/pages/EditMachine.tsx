import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ConfigFields } from '../components/ConfigFields';
import { ErrorBanner, QueryState } from '../components/forms';
import { api, call, ifMatch } from '../lib/api';
import { keys, useCatalog, useMachine } from '../lib/queries';
import { configFromMachine, toUpdateBody, type ConfigForm } from '../lib/spec';

/** Report fig. 13: edit a machine while it is registered (size and asked prices). */
export function EditMachinePage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const machine = useMachine(id);
  const catalog = useCatalog();
  const [form, setForm] = useState<ConfigForm | null>(null);
  useEffect(() => {
    if (!form && machine.data) setForm(configFromMachine(machine.data));
  }, [form, machine.data]);

  const update = useMutation({
    mutationFn: (f: ConfigForm) =>
      call(
        api.PATCH('/api/machines/{id}', {
          params: { path: { id } },
          body: toUpdateBody(f, machine.data!.preconfigured),
          headers: ifMatch(machine.data!),
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.machine(id), updated);
      queryClient.invalidateQueries({ queryKey: keys.machines });
      navigate(`/machines/${id}`);
    },
    onError: () => queryClient.invalidateQueries({ queryKey: keys.machine(id) }),
  });

  if (machine.isPending || machine.error) return <QueryState query={machine} what="Loading the machine" />;
  const m = machine.data;
  if (!m.allowedActions.includes('edit')) {
    return (
      <section className="panel panel--narrow">
        <h1>{m.name} can no longer be edited</h1>
        <p>It is {m.state}: once a machine is stored on a host, its resources and prices are fixed.</p>
        <Link className="btn" to={`/machines/${m.id}`}>
          Back to the machine
        </Link>
      </section>
    );
  }
  if (!form) return null;
  const set = (key: keyof ConfigForm, value: string) => setForm({ ...form, [key]: value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate(form);
  };
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Edit {m.name}</h1>
          <p className="muted">A registered machine can be changed freely until it is stored on a host.</p>
        </div>
        <Link className="btn btn--ghost" to={`/machines/${m.id}`}>
          Cancel
        </Link>
      </div>
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={update.error} />
        <ConfigFields form={form} set={set} error={update.error} catalog={catalog.data} lockImage={m.preconfigured} />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={update.isPending}>
            {update.isPending ? 'Updating…' : 'Update machine'}
          </button>
        </div>
      </form>
    </section>
  );
}
