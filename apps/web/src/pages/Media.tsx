import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Notice, QueryState } from '../components/forms';
import { api, call, type Media } from '../lib/api';
import { formatBytes, formatDateTime } from '../lib/format';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, useMedia } from '../lib/queries';
import { useAction } from '../lib/useAction';

/** The name a file suggests: its base name without the .iso extension. */
function nameFromFile(file: File): string {
  return file.name.replace(/\.iso$/i, '');
}

/**
 * The buyer's install media (the report's future work, §5.1.4): ISO images to insert into a
 * machine's CD-ROM drive and boot from, from the machine's page.
 */
export function MediaPage() {
  const media = useMedia();
  const queryClient = useQueryClient();
  const fileId = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const upload = useAction({
    requestOf: ({ file, name }: { file: File; name: string }) => JSON.stringify([file.name, file.size, file.lastModified, name]),
    mutationFn: ({ file, name }: { file: File; name: string }, idempotencyKey: string) =>
      call(
        api.POST('/api/media', {
          headers: idempotencyHeader(idempotencyKey),
          // The typed body documents the fields; what is sent is multipart form data (field `file`).
          body: { file: file.name, name },
          bodySerializer: () => {
            const form = new FormData();
            form.append('file', file, file.name);
            if (name) form.append('name', name);
            return form;
          },
        }),
      ),
    onSuccess: (created) => {
      setNotice(`${created.name} was uploaded.`);
      setFile(null);
      setName('');
      if (fileInput.current) fileInput.current.value = '';
      queryClient.invalidateQueries({ queryKey: keys.media });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    if (file) upload.mutate({ file, name: name.trim() || nameFromFile(file) });
  };
  const fileErrors = fieldErrors(upload.error, 'file');
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Media</h1>
          <p className="muted">
            Install media for your machines: upload an ISO image, insert it into a stopped machine's CD-ROM drive from the machine's page, and start the machine
            from CD-ROM to install an operating system.
          </p>
        </div>
      </div>
      <section className="panel">
        <h2>Upload an ISO image</h2>
        <form onSubmit={submit} className="upload" noValidate>
          <div className={`field${fileErrors?.length ? ' field--invalid' : ''}`}>
            <label htmlFor={fileId}>ISO image</label>
            <div className="field__control">
              <input
                id={fileId}
                ref={fileInput}
                type="file"
                accept=".iso,application/x-iso9660-image"
                onChange={(event) => {
                  const chosen = event.target.files?.[0] ?? null;
                  setFile(chosen);
                  if (chosen && !name) setName(nameFromFile(chosen));
                }}
              />
            </div>
            {file && <p className="field__hint">{formatBytes(file.size)}</p>}
            {fileErrors?.length ? (
              <ul className="field__errors">
                {fileErrors.map((message) => (
                  <li key={message}>{message}</li>
                ))}
              </ul>
            ) : null}
          </div>
          <Field
            label="Name"
            value={name}
            onChange={setName}
            placeholder="e.g. debian-installer"
            autoComplete="off"
            errors={fieldErrors(upload.error, 'name')}
          />
          <button type="submit" className="btn btn--primary" disabled={!file || upload.isPending}>
            {upload.isPending ? 'Uploading…' : 'Upload'}
          </button>
        </form>
        <ErrorBanner error={upload.error} />
        {notice && <Notice>{notice}</Notice>}
      </section>
      <section className="section">
        <h2>Your media</h2>
        <QueryState query={media} what="Loading your media" />
        {media.data && media.data.length === 0 && <p className="empty empty--boxed">No media yet. Upload an ISO image above.</p>}
        {media.data && media.data.length > 0 && (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col">SHA-256</th>
                  <th scope="col">Inserted in</th>
                  <th scope="col">Uploaded</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {media.data.map((item) => (
                  <MediaRow key={item.id} item={item} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function MediaRow({ item }: { item: Media }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/media/{id}', { params: { path: { id: item.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.media }),
    onError: () => setConfirming(false),
  });
  return (
    <tr>
      <th scope="row">{item.name}</th>
      <td className="num">{formatBytes(item.size)}</td>
      <td className="mono" title={item.sha256}>
        {item.sha256.slice(0, 12)}…
      </td>
      <td>
        {item.attachedTo.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          item.attachedTo.map((machine, index) => (
            <span key={machine.id}>
              {index > 0 && ', '}
              <Link to={`/machines/${machine.id}`}>{machine.name}</Link>
            </span>
          ))
        )}
      </td>
      <td>{formatDateTime(item.createdAt)}</td>
      <td className="cell-actions">
        {confirming ? (
          <div className="confirm" role="group" aria-label={`Delete ${item.name}?`}>
            <span>
              Delete <strong>{item.name}</strong>?
            </span>
            <button type="button" className="btn btn--small btn--danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
              Confirm delete
            </button>
            <button type="button" className="btn btn--small btn--ghost" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button
            type="button"
            className="btn btn--small btn--danger-ghost"
            onClick={() => {
              remove.reset();
              setConfirming(true);
            }}
            aria-label={`Delete ${item.name}`}
          >
            Delete
          </button>
        )}
        {remove.error ? <ErrorBanner error={remove.error} title={`Cannot delete ${item.name}:`} /> : null}
      </td>
    </tr>
  );
}
