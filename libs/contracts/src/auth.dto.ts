import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsNotEmpty, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { NoControlCharacters } from './validation';

/** Every account type. An operator runs the market: made on the server (npm run operator), never by sign-up. */
export const ROLES = ['buyer', 'provider', 'operator'] as const;
export type Role = (typeof ROLES)[number];
/** The account types anyone may sign up as. */
export const SIGN_UP_ROLES = ['buyer', 'provider'] as const;
export type SignUpRole = (typeof SIGN_UP_ROLES)[number];

export class SignUpDto {
  @ApiProperty({ description: 'Unique user handle (letters, digits, dot, dash, underscore).', example: 'ResourceBuyer' })
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{3,40}$/, { message: 'handle must be 3 to 40 letters, digits, dots, dashes or underscores' })
  @NoControlCharacters('handle')
  handle: string;

  @ApiProperty({ description: 'Contact email address; one account per address, whatever its case.', example: 'buyer@example.com' })
  @IsEmail({}, { message: 'email must be a valid email address' })
  @NoControlCharacters('email')
  @MaxLength(200)
  email: string;

  @ApiProperty({
    description:
      'Password of at least 8 characters and at most 72 bytes in UTF-8 (what bcrypt reads); not one of the most common passwords, only spaces, one character repeated, the handle or the email address.',
    example: 'correct horse battery',
    minLength: 8,
  })
  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(200)
  password: string;

  @ApiProperty({ description: 'Account type: a buyer rents machines, a provider sells host resources.', enum: SIGN_UP_ROLES, example: 'buyer' })
  @IsIn(SIGN_UP_ROLES as unknown as string[], { message: 'role must be buyer or provider' })
  role: SignUpRole;
}

export class SignInDto {
  @ApiProperty({ description: 'User handle.', example: 'ResourceBuyer' })
  @IsString()
  @IsNotEmpty({ message: 'handle is required' })
  handle: string;

  @ApiProperty({ description: 'Password.', example: 'correct horse battery' })
  @IsString()
  @IsNotEmpty({ message: 'password is required' })
  password: string;
}

export class UserDto {
  @ApiProperty({ description: 'User id.', example: '0b7f6a8e-2f7e-4a53-9d0e-6c1f0f2f9b11' })
  id: string;

  @ApiProperty({ description: 'Unique handle.', example: 'ResourceBuyer' })
  handle: string;

  @ApiProperty({ description: 'Contact email.', example: 'buyer@example.com' })
  email: string;

  @ApiProperty({ description: 'Account type: buyer, provider, or operator (runs the market).', enum: ROLES, example: 'buyer' })
  role: Role;

  @ApiProperty({ description: 'Current balance in dollars, exact decimal string.', example: '1000' })
  balance: string;

  @ApiProperty({ description: 'When the account was created (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;
}

export class CreateApiTokenDto {
  @ApiProperty({ description: 'A name to recognise the token by.', example: 'billing-script' })
  @IsString()
  @Length(1, 80, { message: 'name must be 1 to 80 characters' })
  @NoControlCharacters('name')
  name: string;
}

export class ApiTokenDto {
  @ApiProperty({ description: 'Token id.', example: '5d1c0f3e-8a7b-4c55-9d2e-1f0a9b8c7d6e' })
  id: string;

  @ApiProperty({ description: 'Token name.', example: 'billing-script' })
  name: string;

  @ApiProperty({ description: 'First characters of the token, to recognise it.', example: 'vt_3f9a' })
  prefix: string;

  @ApiProperty({ description: 'When it was created (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ description: 'When it was last used (ISO 8601), or null.', example: null, nullable: true, type: String })
  lastUsedAt: string | null;
}

export class CreatedApiTokenDto extends ApiTokenDto {
  @ApiProperty({
    description: 'The bearer token itself. Shown once; send it as `Authorization: Bearer <token>`.',
    example: 'vt_3f9a0c2b1e8d4f6a9b7c5d3e1f0a2b4c',
  })
  token: string;
}

/** One browser sign-in of the user (GET /api/auth/sessions), to recognise and revoke it. */
export class SessionDto {
  @ApiProperty({ description: 'Session id.', example: '3e1f0a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })
  id: string;

  @ApiProperty({ description: 'When it was signed in (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ description: 'When it was last used (ISO 8601; recorded at most once a minute).', example: '2026-11-25T10:05:00.000Z' })
  lastUsedAt: string;

  @ApiProperty({
    description: 'The User-Agent header it signed in with, or null.',
    example: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
    nullable: true,
    type: String,
  })
  userAgent: string | null;

  @ApiProperty({ description: 'True for the session this request is made with.', example: true })
  current: boolean;
}
