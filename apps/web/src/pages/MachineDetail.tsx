import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { Notice, QueryState } from '../components/forms';
import { MachineActions } from '../components/MachineActions';
import { MachineMedia } from '../components/MachineMedia';
import { MachineSummary } from '../components/MachineSummary';
import { MachineMigration } from '../components/migration/MachineMigration';
import { MachineNetwork } from '../components/network/MachineNetwork';
import { Money } from '../components/Money';
import { formatDateTime } from '../lib/format';
import { useMachine } from '../lib/queries';

/** Report fig. 8: the confirmation after registering, and the machine's page afterwards. */
export function MachineDetailPage() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const machine = useMachine(id);
  if (machine.isPending || machine.error) return <QueryState query={machine} what="Loading the machine" />;
  const m = machine.data;
  const justRegistered = params.get('registered') === '1';
  const notice = (location.state as { notice?: string } | null)?.notice;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>{justRegistered ? 'Registered configuration' : m.name}</h1>
          <p className="muted">
            Registered {formatDateTime(m.createdAt)} · fee <Money amount={m.registrationFee} />
          </p>
        </div>
        <div className="btn-row">
          <Link className="btn btn--ghost" to={`/machines/${m.id}/history`}>
            History
          </Link>
          <Link className="btn btn--ghost" to="/computers">
            My computers
          </Link>
        </div>
      </div>
      {justRegistered && (
        <Notice>
          <strong>{m.name}</strong> is registered. A fee of <Money amount={m.registrationFee} /> was charged. The prices below are your bid: nothing else is
          charged until you store the machine on a host.
        </Notice>
      )}
      {notice && <Notice tone="info">{notice}</Notice>}
      <MachineSummary machine={m} />
      <h2 className="form-section">Actions</h2>
      <MachineActions machine={m} onDeleted={() => navigate('/computers', { state: { notice: `${m.name} was deleted.` } })} />
      <MachineMigration machine={m} />
      <MachineNetwork machine={m} />
      {m.state !== 'registered' && (
        <>
          <h2 className="form-section">Install media</h2>
          <MachineMedia machine={m} />
        </>
      )}
    </section>
  );
}
