import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { APP_CONFIG, AppConfig, ConfigError } from './config';
import { databaseLabel } from './database/data-source-options';
import { DEMO_LOGINS } from './seed/demo-seed.service';

async function main(): Promise<void> {
  const app = await createApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const logger = new Logger('Virtuoso');
  logger.log(`marketplace at ${url}/ (swagger-ui at ${url}/api/docs)`);
  logger.log(`database ${databaseLabel(config)}`);
  if (!config.webDir) logger.warn('no built SPA found (apps/web/dist or VIRTUOSO_WEB_DIR): serving the API only');
  if (config.seedDemo) {
    for (const login of DEMO_LOGINS) logger.log(`demo ${login.role}: ${login.handle} / ${login.password}`);
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
