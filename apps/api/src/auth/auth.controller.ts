import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiTokenDto, CreateApiTokenDto, CreatedApiTokenDto, SessionDto, SignInDto, SignUpDto, UserDto } from '@virtuoso/contracts';
import type { Request, Response } from 'express';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Public } from '../common/auth.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { AuthService } from './auth.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @ApiOperation({
    summary: 'Create a buyer or provider account and sign in',
    description: 'Sets the `virtuoso_session` cookie (HttpOnly, SameSite=Lax). A new buyer starts with the sign-up credit.',
  })
  @ApiCreatedResponse({ type: UserDto, description: 'The new account; the session cookie is set.' })
  @ApiErrors(400, 409)
  signUp(@Body() dto: SignUpDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<UserDto> {
    return this.auth.signUp(dto, req, res);
  }

  @Public()
  @Post('signin')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with handle and password',
    description:
      'Sets the `virtuoso_session` cookie. Repeated failures for one handle from one address, for one handle from any addresses, or from one address on any handles are refused for a while (429 with Retry-After).',
  })
  @ApiOkResponse({ type: UserDto, description: 'Signed in; the session cookie is set.' })
  @ApiErrors(400, [401, 'The handle or the password is wrong.'], 429)
  signIn(@Body() dto: SignInDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<UserDto> {
    return this.auth.signIn(dto, req, res);
  }

  @Public()
  @Post('signout')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out (end this browser session)' })
  @ApiNoContentResponse({ description: 'Signed out; the cookie is cleared.' })
  signOut(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    return this.auth.signOut(req, res);
  }

  @Get('me')
  @ApiSignedIn()
  @ApiOperation({ summary: 'The signed-in user, with balance' })
  @ApiOkResponse({ type: UserDto, description: 'The signed-in user.' })
  @ApiErrors(401)
  getMe(@CurrentUser() user: AuthUser): Promise<UserDto> {
    return this.auth.me(user);
  }

  @Get('tokens')
  @ApiSignedIn()
  @ApiOperation({ summary: 'List my personal API tokens' })
  @ApiOkResponse({ type: ApiTokenDto, isArray: true, description: 'My tokens, oldest first (without the secrets).' })
  @ApiErrors(401)
  listTokens(@CurrentUser() user: AuthUser): Promise<ApiTokenDto[]> {
    return this.auth.listTokens(user);
  }

  @Post('tokens')
  @ApiSignedIn()
  @ApiOperation({
    summary: 'Create a personal API token',
    description: 'The token is in the answer once; only its hash is kept. Send it as `Authorization: Bearer <token>`.',
  })
  @ApiCreatedResponse({ type: CreatedApiTokenDto, description: 'The token, with its secret shown this once.' })
  @ApiErrors(
    400,
    401,
    [403, 'Called with an API token: API tokens cannot create tokens.'],
    [409, 'The API token quota is reached (VIRTUOSO_QUOTA_API_TOKENS).'],
  )
  @Idempotent()
  createToken(@CurrentUser() user: AuthUser, @Body() dto: CreateApiTokenDto): Promise<CreatedApiTokenDto> {
    return this.auth.createToken(user, dto.name);
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  @ApiSignedIn()
  @ApiOperation({ summary: 'Revoke one of my API tokens' })
  @ApiIdParam('token')
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors(400, 401, 404)
  revokeToken(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<void> {
    return this.auth.revokeToken(user, id);
  }

  @Get('sessions')
  @ApiSignedIn()
  @ApiOperation({ summary: 'List my browser sessions (signed-in browsers)' })
  @ApiOkResponse({ type: SessionDto, isArray: true, description: 'My unexpired sessions, oldest first; `current` is this one.' })
  @ApiErrors(401)
  listSessions(@CurrentUser() user: AuthUser): Promise<SessionDto[]> {
    return this.auth.listSessions(user);
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiSignedIn()
  @ApiOperation({ summary: 'Revoke one of my sessions (that browser is signed out at once)' })
  @ApiIdParam('session')
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors(400, 401, 404)
  revokeSession(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<void> {
    return this.auth.revokeSession(user, id);
  }
}
