import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, Matches } from 'class-validator';

/** A one-time console ticket for the SPA's noVNC (report §6.1.8, fig. 15–18; no VNC password). */
export class ConsoleSessionDto {
  @ApiProperty({ description: 'One-time token, bound to you and this machine; valid for 30 seconds.', example: 'Yp3m0bB2c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1' })
  token: string;

  @ApiProperty({
    description: "Open a websocket here (same origin, subprotocol 'binary'; the session cookie or bearer token is checked too): RFB both ways.",
    example: '/api/console/ws?token=Yp3m0bB2c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1',
  })
  path: string;

  @ApiProperty({ description: 'When the token stops working (ISO 8601).', example: '2026-11-25T10:00:30.000Z' })
  expiresAt: string;
}

/** Keys pressed together on the guest's keyboard, as QEMU qcodes. */
export class SendKeysDto {
  @ApiProperty({
    description: "QEMU qcodes pressed together, e.g. ['ctrl', 'alt', 'delete'].",
    example: ['ctrl', 'alt', 'delete'],
    isArray: true,
    type: String,
  })
  @IsArray({ message: 'keys must be a list of key names' })
  @ArrayMinSize(1, { message: 'keys must name 1 to 8 keys' })
  @ArrayMaxSize(8, { message: 'keys must name 1 to 8 keys' })
  @Matches(/^[a-z0-9_]{1,24}$/, { each: true, message: "each key must be a QEMU qcode such as 'ctrl', 'alt', 'delete' or 'f2'" })
  keys: string[];
}

/** Close codes of the console websocket (4000–4999 are the application's). */
export const CONSOLE_CLOSE = {
  /** A newer viewer of the same machine took over. */
  replaced: 4000,
  notSignedIn: 4401,
  foreignToken: 4403,
  unknownToken: 4404,
  reusedToken: 4409,
  expiredToken: 4410,
  notRunning: 4412,
  /** The agent of the host could not be reached or refused the console. */
  agentUnavailable: 4502,
} as const;
