import { describe, expect, it } from 'vitest';
import { consoleSocketUrl, disconnectReason, noConsoleReason, statusText } from './console';

describe('consoleSocketUrl', () => {
  it('uses ws on http and wss on https, on the page host', () => {
    expect(consoleSocketUrl('/api/console/ws?token=abc', { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/console/ws?token=abc');
    expect(consoleSocketUrl('/api/console/ws?token=abc', { protocol: 'https:', host: 'virtuoso.example' })).toBe(
      'wss://virtuoso.example/api/console/ws?token=abc',
    );
  });
  it('adds the leading slash a relative path lacks', () => {
    expect(consoleSocketUrl('api/console/ws?token=x', { protocol: 'http:', host: 'h' })).toBe('ws://h/api/console/ws?token=x');
  });
});

describe('statusText', () => {
  it('says connecting, connected and disconnected with the reason', () => {
    expect(statusText({ kind: 'connecting' })).toBe('Connecting…');
    expect(statusText({ kind: 'connected' })).toBe('Connected');
    expect(statusText({ kind: 'connected', desktop: 'QEMU (m1)' })).toBe('Connected to QEMU (m1)');
    expect(statusText({ kind: 'disconnected', reason: 'the connection to the console was lost' })).toBe('Disconnected: the connection to the console was lost');
  });
});

describe('disconnectReason / noConsoleReason', () => {
  it('tells a refused connection from a closed and a lost one', () => {
    expect(disconnectReason(true, 'bad ticket')).toMatch(/refused.*bad ticket/);
    expect(disconnectReason(true)).toMatch(/closed/);
    expect(disconnectReason(false)).toMatch(/lost/);
  });
  it("prefers the relay's close reason, then the meaning of its close code", () => {
    expect(disconnectReason(true, undefined, { code: 4000, reason: 'replaced by a new viewer' })).toBe('replaced by a new viewer');
    expect(disconnectReason(false, undefined, { code: 4410, reason: '' })).toBe('the console token expired');
    expect(disconnectReason(false, undefined, { code: 1006, reason: '' })).toMatch(/lost/);
  });
  it('has a console only while running', () => {
    expect(noConsoleReason('running')).toBeNull();
    expect(noConsoleReason('stopped')).toBe('The machine is stopped.');
    expect(noConsoleReason('suspended')).toMatch(/suspended/);
  });
});
