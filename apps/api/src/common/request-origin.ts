import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppConfig } from '../config';
import { statusText } from './errors';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a browser's `Origin` is this API's own: the configured public URL's origin, or the host
 * the request was sent to (the Host header a browser sets itself, also behind the SPA's dev proxy).
 */
export function isOwnOrigin(origin: string, headers: IncomingHttpHeaders, publicUrl: string | null): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, privacy redirects) and anything unparsable
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (publicUrl && new URL(publicUrl).origin === url.origin) return true;
  return !!headers.host && url.host === headers.host.toLowerCase();
}

/**
 * Why a browser request comes from another site, or null when it does not. Browsers send `Origin`
 * on every state-changing fetch and form post, and `Sec-Fetch-Site` on every request; a client
 * that sends neither (curl, scripts, agents) is not a browser carrying someone's cookie.
 */
export function crossSiteReason(headers: IncomingHttpHeaders, publicUrl: string | null): string | null {
  const origin = headers.origin;
  if (origin !== undefined) return isOwnOrigin(origin, headers, publicUrl) ? null : `requests from ${origin} are not accepted`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `${site} requests are not accepted`;
  return null;
}

const isJson = (type: string) => type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);

/**
 * Cross-site request forgery, refused before anything runs: a state-changing request that does
 * not carry a bearer token (so a browser may have attached the session cookie) must come from this
 * API's own origin (403 otherwise). And bodies must be JSON (415 otherwise): HTML forms can post
 * url-encoded, multipart and text/plain bodies cross-site without a preflight, JSON they cannot.
 * The one multipart route is the install-media upload.
 */
export function requestOriginGuard(config: Pick<AppConfig, 'publicUrl'>, multipartPaths: readonly string[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!STATE_CHANGING.has(req.method)) return next();
    const refuse = (status: number, message: string) => res.status(status).json({ statusCode: status, error: statusText(status), message });
    const bearer = /^Bearer\s/i.test(req.headers.authorization ?? '');
    if (!bearer) {
      const reason = crossSiteReason(req.headers, config.publicUrl);
      if (reason) return refuse(403, `cross-site request refused: ${reason}; use the site itself or an API token`);
    }
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (hasBody && type !== '' && !isJson(type) && !(type === 'multipart/form-data' && multipartPaths.includes(req.path.replace(/\/+$/, '')))) {
      return refuse(415, `a request body must be JSON (Content-Type: application/json), not ${type}`);
    }
    next();
  };
}
