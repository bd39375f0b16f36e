import { Link, Route, Routes } from 'react-router';
import { RequireUser } from './components/guards';
import { Layout } from './components/Layout';
import { AccountPage } from './pages/Account';
import { BrowsePage } from './pages/Browse';
import { ConsolePage } from './pages/Console';
import { ConfigurePage } from './pages/Configure';
import { EditMachinePage } from './pages/EditMachine';
import { HomePage } from './pages/Home';
import { AddHostPage, ConnectAgentPage, EditHostPage } from './pages/HostForm';
import { HostsList } from './pages/Hosts';
import { MachineDetailPage } from './pages/MachineDetail';
import { MarketplacePage } from './pages/Marketplace';
import { MediaPage } from './pages/Media';
import { MigratePage } from './pages/Migrate';
import { MyComputersPage } from './pages/MyComputers';
import { HostHistoryPage, MachineHistoryPage } from './pages/History';
import { OperatorEventsPage } from './pages/OperatorEvents';
import { NotificationsPage } from './pages/Notifications';
import { OffersPage } from './pages/Offers';
import { OperatorPage } from './pages/Operator';
import { SearchPage } from './pages/Search';
import { SignInPage } from './pages/SignIn';
import { SignUpPage } from './pages/SignUp';
import { SwitchUserPage } from './pages/SwitchUser';

/** Routes mirror the report's scripts (fig. 34 / 35). */
export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<HomePage />} />
        <Route path="signin" element={<SignInPage />} />
        <Route path="signup" element={<SignUpPage />} />
        <Route path="switch-user" element={<SwitchUserPage />} />
        <Route path="browse" element={<BrowsePage />} />
        <Route path="configure" element={<RequireUser role="buyer">{() => <ConfigurePage />}</RequireUser>} />
        <Route path="search" element={<RequireUser role="buyer">{() => <SearchPage />}</RequireUser>} />
        <Route path="computers" element={<RequireUser>{(user) => <MyComputersPage user={user} />}</RequireUser>} />
        <Route path="machines/:id" element={<RequireUser role="buyer">{() => <MachineDetailPage />}</RequireUser>} />
        <Route path="machines/:id/edit" element={<RequireUser role="buyer">{() => <EditMachinePage />}</RequireUser>} />
        <Route path="machines/:id/console" element={<RequireUser role="buyer">{() => <ConsolePage />}</RequireUser>} />
        <Route path="media" element={<RequireUser role="buyer">{() => <MediaPage />}</RequireUser>} />
        <Route path="machines/:id/migrate" element={<RequireUser role="buyer">{() => <MigratePage />}</RequireUser>} />
        <Route path="machines/:id/offers" element={<RequireUser role="buyer">{() => <OffersPage />}</RequireUser>} />
        <Route path="machines/:id/history" element={<RequireUser role="buyer">{() => <MachineHistoryPage />}</RequireUser>} />
        <Route path="hosts/:id/history" element={<RequireUser role="provider">{() => <HostHistoryPage />}</RequireUser>} />
        <Route path="operator/events" element={<RequireUser role="operator">{() => <OperatorEventsPage />}</RequireUser>} />
        <Route path="hosts" element={<RequireUser role="provider">{() => <HostsList />}</RequireUser>} />
        <Route path="hosts/new" element={<RequireUser role="provider">{() => <AddHostPage />}</RequireUser>} />
        <Route path="hosts/:id/agent" element={<RequireUser role="provider">{() => <ConnectAgentPage />}</RequireUser>} />
        <Route path="hosts/:id/edit" element={<RequireUser role="provider">{() => <EditHostPage />}</RequireUser>} />
        <Route path="marketplace" element={<RequireUser>{() => <MarketplacePage />}</RequireUser>} />
        <Route path="account" element={<RequireUser>{(user) => <AccountPage user={user} />}</RequireUser>} />
        <Route path="operator" element={<RequireUser role="operator">{() => <OperatorPage />}</RequireUser>} />
        <Route path="notifications" element={<RequireUser>{() => <NotificationsPage />}</RequireUser>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  return (
    <section className="panel panel--narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link className="btn" to="/">
        Home
      </Link>
    </section>
  );
}
