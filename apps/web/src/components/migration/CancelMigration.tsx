import { useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../lib/api';
import { idempotencyHeader } from '../../lib/idempotency';
import { keys } from '../../lib/queries';
import { useAction } from '../../lib/useAction';
import { ErrorBanner } from '../forms';

/** Cancel the migration under way (POST …/migration/cancel): it rolls back, the machine stays where it was. */
export function CancelMigration({ machineId }: { machineId: string }) {
  const queryClient = useQueryClient();
  const cancel = useAction({
    mutationFn: (_: void, idempotencyKey: string) =>
      call(api.POST('/api/machines/{id}/migration/cancel', { params: { path: { id: machineId } }, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (migration) => queryClient.setQueryData(keys.migration(machineId), migration),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.migration(machineId) }),
  });
  return (
    <div className="stack-xs">
      <div className="btn-row">
        <button type="button" className="btn btn--small btn--danger-ghost" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
          {cancel.isPending ? 'Cancelling…' : 'Cancel migration'}
        </button>
        <span className="muted small">The machine stays where it is, as it was.</span>
      </div>
      <ErrorBanner error={cancel.error} />
    </div>
  );
}
