import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ErrorBanner, Field, fieldErrors } from '../components/forms';
import { api, call, type Role } from '../lib/api';
import { resetSession } from '../lib/queries';

/** Report fig. 5 / 24: handle, password, email and the account type. */
export function SignUpPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [handle, setHandle] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Exclude<Role, 'operator'>>('buyer');
  const signUp = useMutation({
    mutationFn: () => call(api.POST('/api/auth/signup', { body: { handle: handle.trim(), email: email.trim(), password, role } })),
    onSuccess: async (user) => {
      await resetSession(queryClient, user);
      navigate(user.role === 'provider' ? '/hosts' : '/browse', { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signUp.mutate();
  };
  const roleErrors = fieldErrors(signUp.error, 'role');
  return (
    <section className="panel panel--narrow">
      <h1>Sign up for an account</h1>
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={signUp.error} />
        <Field
          label="Handle"
          value={handle}
          onChange={setHandle}
          autoComplete="username"
          autoFocus
          hint="3 to 40 letters, digits, dots, dashes or underscores. Unique on Virtuoso."
          errors={fieldErrors(signUp.error, 'handle')}
        />
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" errors={fieldErrors(signUp.error, 'email')} />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint="At least 8 characters."
          errors={fieldErrors(signUp.error, 'password')}
        />
        <fieldset className={`choice${roleErrors?.length ? ' field--invalid' : ''}`}>
          <legend>Account type</legend>
          <div className={`choice__option${role === 'buyer' ? ' choice__option--checked' : ''}`}>
            <label>
              <input type="radio" name="role" value="buyer" checked={role === 'buyer'} onChange={() => setRole('buyer')} aria-describedby="role-buyer-hint" />
              <strong>Buyer</strong>
            </label>
            <small id="role-buyer-hint">Register machine configurations and rent them from providers.</small>
          </div>
          <div className={`choice__option${role === 'provider' ? ' choice__option--checked' : ''}`}>
            <label>
              <input
                type="radio"
                name="role"
                value="provider"
                checked={role === 'provider'}
                onChange={() => setRole('provider')}
                aria-describedby="role-provider-hint"
              />
              <strong>Provider</strong>
            </label>
            <small id="role-provider-hint">Add physical hosts and sell their speed, memory and storage.</small>
          </div>
          {roleErrors?.length ? (
            <ul className="field__errors">
              {roleErrors.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          ) : null}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={signUp.isPending}>
            {signUp.isPending ? 'Creating account…' : 'Sign up'}
          </button>
          <span className="muted">
            Already have an account? <Link to="/signin">Sign in</Link>
          </span>
        </div>
      </form>
    </section>
  );
}
