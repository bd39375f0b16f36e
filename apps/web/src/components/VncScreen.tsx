import type RFB from '@novnc/novnc';
import { useEffect, useRef } from 'react';
import { errorMessage } from '../lib/api';
import { openConsole } from '../lib/commands';
import { consoleSocketUrl, disconnectReason, type ConsoleStatus } from '../lib/console';

/**
 * noVNC on one console session. Mounting connects: a fresh single-use token from the API, then a
 * websocket to `ws(s)://<this host><path>` that the API relays to the agent and on to QEMU's VNC
 * socket. Unmounting disconnects; the page remounts it (new `key`) to reconnect.
 */
export function VncScreen({ machineId, onStatus, label }: { machineId: string; onStatus: (status: ConsoleStatus) => void; label: string }) {
  const target = useRef<HTMLDivElement>(null);
  // The latest callback, without making it a reason to reconnect.
  const report = useRef(onStatus);
  report.current = onStatus;

  useEffect(() => {
    let rfb: RFB | null = null;
    let cancelled = false;
    let securityReason: string | undefined;
    let socket: WebSocket | null = null;
    let closed: { code: number; reason: string } | undefined;
    let ended = false;
    let connected = false;
    let desktop: string | undefined;
    report.current({ kind: 'connecting' });
    void (async () => {
      try {
        // noVNC is loaded with the console page only (it is most of the page's weight).
        const [{ default: Rfb }, session] = await Promise.all([import('@novnc/novnc'), openConsole(machineId)]);
        if (cancelled || !target.current) return;
        // Our own websocket (noVNC attaches to it) so that the relay's close code and reason can be
        // shown; the relay speaks RFB in binary frames under the 'binary' subprotocol.
        socket = new WebSocket(consoleSocketUrl(session.path, window.location), ['binary']);
        socket.addEventListener('close', (event) => {
          closed = { code: event.code, reason: event.reason };
          // Should noVNC not report it (a socket closed before noVNC attached to it), say it here.
          setTimeout(() => {
            if (!cancelled && !ended) report.current({ kind: 'disconnected', reason: disconnectReason(event.wasClean, undefined, closed) });
          }, 500);
        });
        rfb = new Rfb(target.current, socket);
        rfb.scaleViewport = true;
        rfb.background = '#000';
        rfb.focusOnClick = true;
        rfb.addEventListener('desktopname', (event) => {
          desktop = event.detail.name || undefined;
          if (connected && !cancelled) report.current({ kind: 'connected', desktop });
        });
        rfb.addEventListener('connect', () => {
          connected = true;
          if (cancelled) return;
          report.current({ kind: 'connected', desktop });
          rfb?.focus({ preventScroll: true });
        });
        rfb.addEventListener('securityfailure', (event) => {
          securityReason = event.detail.reason || `status ${event.detail.status}`;
        });
        rfb.addEventListener('credentialsrequired', () => {
          // Our relay authenticates the viewer; QEMU's VNC asks for nothing more.
          securityReason = 'the VNC server asked for a password';
          rfb?.disconnect();
        });
        rfb.addEventListener('disconnect', (event) => {
          ended = true;
          rfb = null;
          if (!cancelled) report.current({ kind: 'disconnected', reason: disconnectReason(event.detail.clean, securityReason, closed) });
        });
      } catch (error) {
        if (!cancelled) report.current({ kind: 'disconnected', reason: errorMessage(error) });
      }
    })();
    return () => {
      cancelled = true;
      if (rfb) rfb.disconnect();
      else socket?.close();
      rfb = null;
    };
  }, [machineId]);

  return <div ref={target} className="console__canvas" data-testid="console-screen" aria-label={label} role="application" />;
}
