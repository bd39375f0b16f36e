import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiRequestError, call, type SshKey } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { idempotencyHeader } from '../../lib/idempotency';
import { keys, useSshKeys } from '../../lib/queries';
import { useAction } from '../../lib/useAction';
import { ErrorBanner, Field, fieldErrors, QueryState, TextAreaField } from '../forms';

/**
 * The buyer's public ssh keys (docs/ARCHITECTURE.md §11): each machine's guest gets them at its
 * next start or resume, so `ssh -p <port> root@<provider>` logs in with any of them.
 */
export function SshKeys() {
  const queryClient = useQueryClient();
  const sshKeys = useSshKeys();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [added, setAdded] = useState<SshKey | null>(null);
  const add = useAction({
    mutationFn: (body: { name: string; publicKey: string }, idempotencyKey: string) =>
      call(api.POST('/api/account/ssh-keys', { body, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (key) => {
      setAdded(key);
      setName('');
      setPublicKey('');
      queryClient.invalidateQueries({ queryKey: keys.sshKeys });
      // A machine's page tells a buyer without a key to add one.
      queryClient.invalidateQueries({ queryKey: ['machines'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAdded(null);
    add.mutate({ name: name.trim(), publicKey: publicKey.trim() });
  };
  const nameErrors = fieldErrors(add.error, 'name');
  const keyErrors = fieldErrors(add.error, 'publicKey');
  return (
    <section className="panel" id="ssh-keys" aria-labelledby="ssh-keys-title">
      <h2 id="ssh-keys-title">SSH keys</h2>
      <p className="muted">
        Your machines accept these keys for <code>root</code> over ssh. A machine gets the keys you have when it starts or resumes; its page shows the command.
      </p>
      {added && (
        <div className="alert alert--success" role="status">
          Key “{added.name}” added: <span className="mono fingerprint">{added.fingerprint}</span>
        </div>
      )}
      <form onSubmit={submit} className="ssh-key-form" noValidate aria-label="Add an ssh key">
        {/* A conflict's message names the key already there; a validation error is said under its field. */}
        {add.error && ((!nameErrors && !keyErrors) || (add.error instanceof ApiRequestError && add.error.status !== 400)) ? (
          <ErrorBanner error={add.error} />
        ) : null}
        <Field label="Key name" value={name} onChange={setName} placeholder="e.g. laptop" maxLength={80} errors={nameErrors} />
        <TextAreaField
          label="Public key"
          value={publicKey}
          onChange={setPublicKey}
          placeholder="ssh-ed25519 AAAAC3Nza… me@laptop"
          hint={
            <>
              Paste one line of your <code>~/.ssh/id_ed25519.pub</code> (or <code>id_rsa.pub</code>, <code>id_ecdsa.pub</code>). Never the private key.
            </>
          }
          spellCheck={false}
          autoComplete="off"
          rows={3}
          errors={keyErrors}
        />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add key'}
          </button>
        </div>
      </form>
      <QueryState query={sshKeys} what="Loading your ssh keys" />
      {sshKeys.data && sshKeys.data.length === 0 && <p className="empty">No ssh keys yet: add one to log in to your machines over ssh.</p>}
      {sshKeys.data && sshKeys.data.length > 0 && (
        <div className="table-wrap">
          <table className="table table--fit table--cards" aria-label="Your ssh keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Fingerprint</th>
                <th scope="col">Added</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {sshKeys.data.map((key) => (
                <SshKeyRow key={key.id} sshKey={key} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SshKeyRow({ sshKey }: { sshKey: SshKey }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/account/ssh-keys/{id}', { params: { path: { id: sshKey.id } } })),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: keys.sshKeys });
      queryClient.invalidateQueries({ queryKey: ['machines'] });
    },
  });
  return (
    <tr>
      <th scope="row">{sshKey.name}</th>
      <td data-label="Type" className="mono">
        {sshKey.type}
      </td>
      <td data-label="Fingerprint" className="mono fingerprint">
        {sshKey.fingerprint}
      </td>
      <td data-label="Added">{formatDateTime(sshKey.createdAt)}</td>
      <td className="cell-actions">
        <button
          type="button"
          className="btn btn--small btn--danger-ghost"
          disabled={remove.isPending}
          onClick={() => remove.mutate()}
          aria-label={`Remove ${sshKey.name}`}
        >
          Remove
        </button>
        {remove.error ? <ErrorBanner error={remove.error} /> : null}
      </td>
    </tr>
  );
}
