import type { INestMicroservice, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { AgentModule, type AgentModuleDeps } from '../agent.module';
import { CommandClient } from './fake-frontend';
import { freePorts } from './agent-process';

/**
 * The agent's real command port (the signed-command guard, the interceptors, TCP) on a free
 * loopback port, with stand-ins for what it commands, and a client signing with the agent's
 * secret: for tests of the port that boot no guest.
 */
export async function startCommandPort(
  deps: AgentModuleDeps,
  credentials: { agentId: string; secret: string },
  logger: LoggerService | LogLevel[] | false,
): Promise<{ app: INestMicroservice; client: CommandClient }> {
  const [port] = await freePorts(1);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AgentModule.register(deps), {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger,
  });
  await app.listen();
  return { app, client: new CommandClient('127.0.0.1', port, credentials.agentId, credentials.secret) };
}
