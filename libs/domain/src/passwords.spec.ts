import { describe, expect, it } from 'vitest';
import { passwordProblem } from './passwords';

const common = new Set(['12345678', 'password', 'qwertyuiop']);
const check = (password: string) => passwordProblem(password, { handle: 'Alice-1', email: 'alice.b@example.com' }, (p) => common.has(p));

describe('passwordProblem', () => {
  it('accepts an ordinary passphrase, including one of exactly 72 UTF-8 bytes', () => {
    expect(check('correct horse')).toBeNull();
    expect(check('é'.repeat(35) + 'ab')).toBeNull(); // 70 + 2 bytes
  });

  it('refuses passwords bcrypt would cut, counting UTF-8 bytes rather than characters', () => {
    expect(check('a'.repeat(72) + 'b')).toBe('password must be at most 72 bytes in UTF-8 (this one is 73)');
    expect(check('é'.repeat(37))).toBe('password must be at most 72 bytes in UTF-8 (this one is 74)');
  });

  it('refuses whitespace only, one repeated character, the handle and the email address', () => {
    expect(check('        ')).toBe('password must not be only spaces');
    expect(check('\t\t\t\t  \n ')).toBe('password must not be only spaces');
    expect(check('aaaaaaaa')).toBe('password must not be one character repeated');
    expect(check('😀😀😀😀')).toBe('password must not be one character repeated');
    expect(check('alice-1')).toBe('password must not be your handle or email address');
    expect(check('ALICE.B')).toBe('password must not be your handle or email address');
    expect(check('Alice.B@Example.com')).toBe('password must not be your handle or email address');
  });

  it('refuses common passwords whatever their case or spacing', () => {
    expect(check('12345678')).toMatch(/most common passwords/);
    expect(check('PassWord')).toMatch(/most common passwords/);
    expect(check('qwerty uiop')).toMatch(/most common passwords/);
  });
});
