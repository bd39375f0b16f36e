import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { ErrorBanner, Loading } from '../components/forms';
import { api, ApiRequestError, call } from '../lib/api';
import { resetSession } from '../lib/queries';
import { SignInForm } from './SignIn';

/** Report switchlogin.pl: signs the current user out, then asks who is next. */
export function SwitchUserPage() {
  const queryClient = useQueryClient();
  const started = useRef(false);
  const signOut = useMutation({
    mutationFn: () => call(api.POST('/api/auth/signout')),
    onSettled: () => resetSession(queryClient, null),
  });
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    signOut.mutate();
  }, [signOut]);
  if (signOut.isIdle || signOut.isPending) return <Loading what="Signing out" />;
  return (
    <>
      {signOut.isError && !(signOut.error instanceof ApiRequestError && signOut.error.status === 401) && <ErrorBanner error={signOut.error} title="Sign-out failed" />}
      <SignInForm title="Switch user" notice="You are signed out. Sign in as another user." />
    </>
  );
}
