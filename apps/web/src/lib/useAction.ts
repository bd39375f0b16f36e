import { useMutation, type UseMutationOptions } from '@tanstack/react-query';
import { useRef } from 'react';
import { keyForAttempt, outcomeUnknown, type PendingAttempt } from './idempotency';

type ActionOptions<TData, TVars> = Omit<UseMutationOptions<TData, Error, TVars>, 'mutationFn'> & {
  /** Sends the request(s) with `idempotencyKey` in the Idempotency-Key header. */
  mutationFn: (variables: TVars, idempotencyKey: string) => Promise<TData>;
  /** What identifies the request for a retry (default: the variables as JSON). */
  requestOf?: (variables: TVars) => string;
};

/**
 * A mutation for a user action that creates something or costs money: one Idempotency-Key per
 * action (reused when the same action is retried after an unknown outcome), and one request at a
 * time — a second click while the first is in flight joins it instead of sending again. Buttons
 * bound to it are disabled while `isPending`.
 */
export function useAction<TData, TVars = void>({ mutationFn, requestOf, ...options }: ActionOptions<TData, TVars>) {
  const attempt = useRef<PendingAttempt | null>(null);
  const inFlight = useRef<{ request: string; promise: Promise<TData> } | null>(null);
  return useMutation<TData, Error, TVars>({
    ...options,
    mutationFn: (variables) => {
      const request = requestOf ? requestOf(variables) : JSON.stringify(variables ?? null);
      if (inFlight.current?.request === request) return inFlight.current.promise;
      const current = keyForAttempt(attempt.current, request);
      attempt.current = current;
      const promise = mutationFn(variables, current.key).then(
        (data) => {
          attempt.current = null;
          return data;
        },
        (error: unknown) => {
          if (!outcomeUnknown(error)) attempt.current = null;
          throw error;
        },
      );
      const entry = { request, promise };
      inFlight.current = entry;
      const clear = () => {
        if (inFlight.current === entry) inFlight.current = null;
      };
      promise.then(clear, clear);
      return promise;
    },
  });
}
