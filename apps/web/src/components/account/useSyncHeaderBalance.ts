import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { User } from '../../lib/api';
import { keys } from '../../lib/queries';

/**
 * When the balance moves: the header shows the account page's fresher figure, and the statement
 * re-fetches so the new entries appear with it.
 */
export function useSyncHeaderBalance(balance: string | undefined) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (balance === undefined) return;
    queryClient.setQueryData<User | null>(keys.me, (me) => (me && me.balance !== balance ? { ...me, balance } : me));
    queryClient.invalidateQueries({ queryKey: ['account', 'statement'] });
  }, [balance, queryClient]);
}
