import { useId, useState, type InputHTMLAttributes, type ReactNode, type TextareaHTMLAttributes } from 'react';
import { Link } from 'react-router';
import { ApiRequestError, errorMessage } from '../lib/api';
import { fieldMessage, withFieldLabel } from '../lib/messages';

/** Server messages for one field of a failed mutation. */
export function fieldErrors(error: unknown, name: string): string[] | undefined {
  return error instanceof ApiRequestError ? error.field(name) : undefined;
}

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'value'> {
  label: string;
  value: string;
  onChange?: (value: string) => void;
  /** Shown after the input, e.g. "bogomips". */
  unit?: string;
  hint?: ReactNode;
  errors?: string[];
  /** Locked fields are shown read-only with a lock note (report fig. 29). */
  locked?: boolean;
}

/** A labelled input with its unit, a hint, and the server's validation messages beneath it. */
export function Field({ label, value, onChange, unit, hint, errors, locked, id, className, ...input }: FieldProps) {
  const autoId = useId();
  const message = fieldMessage(errors, label);
  const inputId = id ?? `f${autoId}`;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const describedBy = [hint ? hintId : null, message ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${message ? ' field--invalid' : ''}${locked ? ' field--locked' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <div className="field__control">
        <input
          id={inputId}
          value={value}
          onChange={onChange ? (event) => onChange(event.target.value) : undefined}
          readOnly={locked || !onChange}
          aria-invalid={message ? true : undefined}
          aria-describedby={describedBy}
          {...input}
        />
        {unit && <span className="field__unit">{unit}</span>}
        {locked && (
          <span className="field__lock" title="Locked once the host is added">
            locked
          </span>
        )}
      </div>
      {hint && (
        <p className="field__hint" id={hintId}>
          {hint}
        </p>
      )}
      {message ? (
        <p className="field__errors" id={errorId}>
          {message}
        </p>
      ) : null}
    </div>
  );
}

interface TextAreaFieldProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'onChange' | 'value'> {
  label: string;
  value: string;
  onChange: (value: string) => void;
  hint?: ReactNode;
  errors?: string[];
}

/** A labelled multi-line input (a pasted key, say), with a hint and the server's message beneath it. */
export function TextAreaField({ label, value, onChange, hint, errors, id, className, ...textarea }: TextAreaFieldProps) {
  const autoId = useId();
  const message = fieldMessage(errors, label);
  const inputId = id ?? `f${autoId}`;
  const describedBy = [hint ? `${inputId}-hint` : null, message ? `${inputId}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${message ? ' field--invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <textarea
        id={inputId}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={message ? true : undefined}
        aria-describedby={describedBy}
        {...textarea}
      />
      {hint && (
        <p className="field__hint" id={`${inputId}-hint`}>
          {hint}
        </p>
      )}
      {message ? (
        <p className="field__errors" id={`${inputId}-error`}>
          {message}
        </p>
      ) : null}
    </div>
  );
}

/** A command or text the user copies: shown in a code block with a Copy button. */
export function CopyBlock({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-block">
      <code aria-label={label}>{text}</code>
      <button
        type="button"
        className="btn btn--small"
        onClick={() =>
          navigator.clipboard
            ?.writeText(text)
            .then(() => setCopied(true))
            .catch(() => undefined)
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** The general message of a failed request, shown on top of a form or page. */
export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const status = error instanceof ApiRequestError ? error.status : undefined;
  const allowed = error instanceof ApiRequestError ? error.body.allowedActions : undefined;
  const heading =
    title ??
    (status === 409
      ? 'Not possible right now'
      : status === 402
        ? 'Insufficient balance'
        : status === 412
          ? 'The machine changed meanwhile'
          : status === 429
            ? 'Too many attempts'
            : status === 403
              ? 'Not allowed'
              : undefined);
  return (
    <div className={`alert alert--error${status === 409 ? ' alert--conflict' : ''}`} role="alert">
      {heading && <strong className="alert__title">{heading}</strong>}
      <span className="alert__message">{withFieldLabel(errorMessage(error))}</span>
      {allowed && <span className="alert__extra">Allowed now: {allowed.length ? allowed.join(', ') : 'nothing'}.</span>}
      {status === 402 && (
        <span className="alert__extra">
          <Link to="/account#add-value">Add value on your account page</Link> to start or resume your machines again.
        </span>
      )}
    </div>
  );
}

export function Notice({ children, tone = 'success' }: { children: ReactNode; tone?: 'success' | 'info' | 'warning' }) {
  return (
    <div className={`alert alert--${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {what}…
    </p>
  );
}

/** Query loading / error handling around a page section. */
export function QueryState({ query, what }: { query: { isPending: boolean; error: unknown }; what?: string }) {
  if (query.error) return <ErrorBanner error={query.error} />;
  if (query.isPending) return <Loading what={what} />;
  return null;
}
