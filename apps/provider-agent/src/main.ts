import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, USAGE } from './config';
import { startAgent, type RunningAgent } from './agent/bootstrap';

/**
 * The provider agent: `node apps/provider-agent/dist/main.js --data DIR --port PORT
 * --frontend URL --join TOKEN` (the "add host" page's command); see config.ts for the rest.
 */
async function main(): Promise<void> {
  const log = new Logger('Agent');
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    throw e;
  }

  let agent: RunningAgent | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: shutting down (virtual machines keep running)`);
    void (async () => {
      try {
        await agent?.close();
      } catch (e) {
        log.error(`shutdown: ${(e as Error).message}`);
      }
      process.exit(0);
    })();
    // Nothing may hold the exit up for long.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  // A daemon holding VMs logs a stray rejection rather than dying of it.
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    agent = await startAgent(config);
  } catch (e) {
    if (stopping) return;
    log.fatal(`cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  if (stopping) await agent.close();
}

void main();
