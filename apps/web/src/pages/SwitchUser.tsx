import { Link } from 'react-router';
import { Loading } from '../components/forms';
import { useMe } from '../lib/queries';
import { SignInForm } from './SignIn';

/**
 * Report switchlogin.pl: sign in as another user. Opening the page changes nothing: the current
 * user stays signed in until the form is sent (the form then ends that session first).
 */
export function SwitchUserPage() {
  const me = useMe();
  if (me.isPending) return <Loading />;
  const user = me.data ?? null;
  if (!user) return <SignInForm title="Switch user" notice="Nobody is signed in. Sign in as any user." />;
  return (
    <SignInForm
      title="Switch user"
      switchFrom={user.handle}
      notice={
        <>
          You are signed in as <strong>{user.handle}</strong> ({user.role}) and stay signed in unless you sign in as another user here.{' '}
          <Link to="/">Keep using {user.handle}</Link>
        </>
      }
    />
  );
}
