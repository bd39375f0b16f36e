/**
 * What makes a new password unacceptable, beyond its minimum length (checked by the DTO). bcrypt
 * reads only the first 72 bytes of a password, so a longer one would be silently cut: refused,
 * counting UTF-8 bytes as bcrypt does. `isCommon` tells whether a (lower-cased) password is on a
 * list of the most used passwords; the API passes one from a maintained package.
 */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

export interface PasswordContext {
  handle: string;
  email: string;
}

/** null when the password is acceptable, else a message for people naming the problem. */
export function passwordProblem(password: string, context: PasswordContext, isCommon: (lowerCased: string) => boolean): string | null {
  const bytes = new TextEncoder().encode(password).length;
  if (bytes > BCRYPT_MAX_PASSWORD_BYTES) {
    return `password must be at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8 (this one is ${bytes})`;
  }
  if (password.trim() === '') return 'password must not be only spaces';
  const characters = [...password];
  if (characters.every((character) => character === characters[0])) return 'password must not be one character repeated';
  const lower = password.toLowerCase();
  const compact = lower.replace(/\s+/g, '');
  const handle = context.handle.toLowerCase();
  const mailbox = context.email.toLowerCase().split('@')[0];
  if (compact === handle || compact === mailbox || compact === context.email.toLowerCase()) return 'password must not be your handle or email address';
  if (isCommon(lower) || isCommon(compact)) return 'password is one of the most common passwords; choose a less guessable one';
  return null;
}
