import { ApiTokens } from '../components/account/ApiTokens';
import { BuyerAccountView } from '../components/account/BuyerAccount';
import { ProviderAccountView } from '../components/account/ProviderAccount';
import { Sessions } from '../components/account/Sessions';
import { SshKeys } from '../components/account/SshKeys';
import type { User } from '../lib/api';
import { formatDateTime } from '../lib/format';

/** Account information: a buyer's costs (report figs. 22, 23) or a provider's income (figs. 30, 32), the statement, API tokens. */
export function AccountPage({ user }: { user: User }) {
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Account</h1>
          <p className="muted">
            {user.role === 'buyer'
              ? 'What your machines cost, when each is next charged, and every movement of your money.'
              : 'What your hosts earn, what each machine on them pays, and every movement of your money.'}
          </p>
        </div>
        <dl className="account-id">
          <div>
            <dt>Handle</dt>
            <dd>{user.handle}</dd>
          </div>
          <div>
            <dt>Account type</dt>
            <dd>
              <span className={`badge badge--${user.role}`}>{user.role}</span>
            </dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDateTime(user.createdAt)}</dd>
          </div>
        </dl>
      </div>
      {user.role === 'buyer' ? <BuyerAccountView /> : <ProviderAccountView />}
      {user.role === 'buyer' && <SshKeys />}
      <ApiTokens />
      <Sessions />
    </>
  );
}
