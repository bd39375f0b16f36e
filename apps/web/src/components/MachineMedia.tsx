import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'react-router';
import { api, call, type Machine } from '../lib/api';
import { sendCommand } from '../lib/commands';
import { formatBytes } from '../lib/format';
import { keys, useMedia } from '../lib/queries';
import { ErrorBanner } from './forms';

/**
 * The machine's CD-ROM drive (report §5.1.4, future work made real): insert one of the buyer's
 * ISO images, eject it, and start the machine from it.
 */
export function MachineMedia({ machine }: { machine: Machine }) {
  const queryClient = useQueryClient();
  const selectId = useId();
  const placed = machine.host != null;
  const media = useMedia(placed);
  const [chosen, setChosen] = useState('');
  const done = (updated: Machine) => {
    queryClient.setQueryData(keys.machine(machine.id), updated);
    queryClient.invalidateQueries({ queryKey: keys.machines });
    queryClient.invalidateQueries({ queryKey: keys.media }); // "Inserted in" of the library
  };
  const insert = useMutation({
    mutationFn: (mediaId: string) => call(api.POST('/api/machines/{id}/media', { params: { path: { id: machine.id } }, body: { mediaId } })),
    onSuccess: (updated) => {
      setChosen('');
      done(updated);
    },
  });
  const eject = useMutation({
    mutationFn: () => call(api.DELETE('/api/machines/{id}/media', { params: { path: { id: machine.id } } })),
    onSuccess: (updated) => done(updated),
  });
  const bootCd = useMutation({
    mutationFn: () => sendCommand(machine, 'start', 'cdrom'),
    onSuccess: (updated) => {
      done(updated);
      queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
  if (!placed) {
    return <p className="muted">Store the machine on a host to insert install media into its CD-ROM drive.</p>;
  }
  const busy = insert.isPending || eject.isPending || bootCd.isPending;
  const canStart = machine.allowedActions.includes('start');
  const choices = media.data ?? [];
  return (
    <div className="media-box">
      <p>
        CD-ROM drive:{' '}
        {machine.media ? (
          <strong data-testid="inserted-media">{machine.media.name}</strong>
        ) : (
          <span className="muted" data-testid="inserted-media">
            empty
          </span>
        )}
      </p>
      {machine.media ? (
        <div className="btn-row">
          {canStart && (
            <button type="button" className="btn btn--primary" disabled={busy} onClick={() => bootCd.mutate()}>
              {bootCd.isPending ? 'Starting…' : 'Start from CD-ROM'}
            </button>
          )}
          <button type="button" className="btn" disabled={busy} onClick={() => eject.mutate()}>
            {eject.isPending ? 'Ejecting…' : 'Eject'}
          </button>
        </div>
      ) : choices.length === 0 ? (
        <p className="muted small">
          {media.isPending ? (
            'Loading your media…'
          ) : (
            <>
              You have no media yet: <Link to="/media">upload an ISO image</Link>.
            </>
          )}
        </p>
      ) : (
        <form
          className="btn-row"
          onSubmit={(event) => {
            event.preventDefault();
            if (chosen) insert.mutate(chosen);
          }}
        >
          <label htmlFor={selectId} className="sr-only">
            Media to insert
          </label>
          <select id={selectId} value={chosen} onChange={(event) => setChosen(event.target.value)}>
            <option value="">Choose an ISO image…</option>
            {choices.map((item) => (
              <option key={item.id} value={item.id}>
                {item.name} ({formatBytes(item.size)})
              </option>
            ))}
          </select>
          <button type="submit" className="btn" disabled={!chosen || busy}>
            {insert.isPending ? 'Inserting…' : 'Insert media'}
          </button>
        </form>
      )}
      <ErrorBanner error={insert.error} title="The media was not inserted" />
      <ErrorBanner error={eject.error} title="The media was not ejected" />
      <ErrorBanner error={bootCd.error} />
    </div>
  );
}
