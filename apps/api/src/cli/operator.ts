import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import * as bcrypt from 'bcryptjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { emailKey, handleKey } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { nowIso } from '../common/time';
import { systemClock } from '../common/clock';
import { ConfigError, loadConfig } from '../config';
import { dataSourceOptions } from '../database/data-source-options';
import { openMigratedDataSource } from '../database/migrate-schema';

/**
 * `npm run operator -- create <handle> [--email <e>] [--password-stdin]` and
 * `npm run operator -- reset-password <handle> [--password-stdin]`: operator accounts are made on
 * the server, with the API's own database settings (VIRTUOSO_DB_PATH / VIRTUOSO_DATABASE_URL),
 * never by sign-up (docs/ARCHITECTURE.md, Operating). The generated password is printed once.
 */
const USAGE =
  'usage: npm run operator -- create <handle> [--email <address>] [--password-stdin]\n       npm run operator -- reset-password <handle> [--password-stdin]';
const HANDLE = /^[A-Za-z0-9._-]{3,40}$/;

class UsageError extends Error {}

interface Command {
  action: 'create' | 'reset-password';
  handle: string;
  email: string | null;
  passwordStdin: boolean;
}

function parseArgs(argv: string[]): Command {
  const [action, handle, ...rest] = argv;
  if (action !== 'create' && action !== 'reset-password') throw new UsageError(`unknown command "${action ?? ''}"`);
  if (!handle || !HANDLE.test(handle)) throw new UsageError('the handle must be 3 to 40 letters, digits, dots, dashes or underscores');
  let email: string | null = null;
  let passwordStdin = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--email' && action === 'create') {
      email = rest[++i] ?? '';
      if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 200) throw new UsageError(`--email needs an email address (got "${email}")`);
    } else if (rest[i] === '--password-stdin') {
      passwordStdin = true;
    } else {
      throw new UsageError(`unknown option "${rest[i]}"`);
    }
  }
  return { action, handle, email, passwordStdin };
}

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  // The same bounds as sign-up: bcrypt reads 72 bytes at most.
  if (password.length < 12 || Buffer.byteLength(password) > 72) throw new UsageError('the password on stdin must be 12 characters to 72 bytes');
  return password;
}

async function run(dataSource: DataSource, command: Command, bcryptCost: number): Promise<string> {
  const password = command.passwordStdin ? await readPassword() : randomBytes(18).toString('base64url');
  const passwordHash = await bcrypt.hash(password, bcryptCost);
  const users = dataSource.getRepository(User);
  const existing = await users.findOneBy({ handleKey: handleKey(command.handle) });
  if (command.action === 'reset-password') {
    if (!existing || existing.role !== 'operator') throw new UsageError(`no operator with the handle ${command.handle}`);
    await users.update({ id: existing.id }, { passwordHash });
    // Sessions and tokens signed in with the old password end with it.
    await dataSource.query(`DELETE FROM "sessions" WHERE "userId" = ${dataSource.options.type === 'postgres' ? '$1' : '?'}`, [existing.id]);
    return command.passwordStdin ? `password of operator ${existing.handle} changed` : `password of operator ${existing.handle}: ${password}`;
  }
  if (existing) throw new UsageError(`the handle ${command.handle} is taken (${existing.role}); choose another`);
  const email = command.email ?? `${command.handle}@operator.invalid`;
  if (await users.existsBy({ emailKey: emailKey(email) })) throw new UsageError(`an account with the email address ${email} exists already`);
  await users.insert({
    id: randomUUID(),
    handle: command.handle,
    handleKey: handleKey(command.handle),
    email,
    emailKey: emailKey(email),
    passwordHash,
    role: 'operator',
    balance: '0',
    createdAt: nowIso(systemClock),
  });
  return command.passwordStdin ? `operator ${command.handle} created` : `operator ${command.handle} created; password (shown once): ${password}`;
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  // stdout carries the answer (the password) only; the schema log says nothing an operator needs here.
  Logger.overrideLogger(['warn', 'error']);
  if (!config.databaseUrl && config.dbPath !== ':memory:') mkdirSync(dirname(config.dbPath), { recursive: true });
  const dataSource = await openMigratedDataSource({ ...dataSourceOptions(config) });
  try {
    process.stdout.write(`${await run(dataSource, command, config.bcryptCost)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
