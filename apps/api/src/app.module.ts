import { DynamicModule, Global, Module, RequestMethod } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import { AccountsModule } from './accounts/accounts.module';
import { AgentsModule } from './agents/agents.module';
import { AuthModule } from './auth/auth.module';
import { BillingModule } from './billing/billing.module';
import { CatalogModule } from './catalog/catalog.module';
import { CLOCK, Clock, ScaledClock, WALL_CLOCK, systemClock } from './common/clock';
import { Daemons } from './common/daemons';
import { Database } from './common/database.service';
import { Leadership } from './common/leadership';
import { ConsoleModule } from './console/console.module';
import { APP_CONFIG, AppConfig } from './config';
import { dataSourceOptions } from './database/data-source-options';
import { openMigratedDataSource } from './database/migrate-schema';
import { EventsModule } from './events/events.module';
import { HealthController } from './health/health.controller';
import { MachinesModule } from './machines/machines.module';
import { MarketModule } from './market/market.module';
import { MediaModule } from './media/media.module';
import { MetricsModule } from './metrics/metrics.module';
import { MigrationsModule } from './migrations/migrations.module';
import { NetworkModule } from './network/network.module';
import { NotificationsModule } from './notifications/notifications.module';
import { OperatorModule } from './operator/operator.module';
import { HostsApiModule } from './providers/hosts-api.module';
import { ProvidersModule } from './providers/providers.module';
import { SeedModule } from './seed/seed.module';
import { RUNTIME_OPTIONS, RuntimeOptions } from './seed/startup.service';
import { SpaModule } from './web/spa.module';

/** Configuration, runtime options and the database door, for every module. */
@Global()
@Module({})
class CoreModule {
  static forRoot(config: AppConfig, options: RuntimeOptions, clock?: Clock, wallClock: Clock = systemClock): DynamicModule {
    const test = config.testClock;
    const time = clock ?? (test ? new ScaledClock(test.originMs, test.offsetMs, test.rate) : systemClock);
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: RUNTIME_OPTIONS, useValue: options },
        { provide: CLOCK, useValue: time },
        { provide: WALL_CLOCK, useValue: wallClock },
        Database,
        Leadership,
        Daemons,
      ],
      exports: [APP_CONFIG, RUNTIME_OPTIONS, CLOCK, WALL_CLOCK, Database, Leadership, Daemons],
    };
  }
}

export interface AppModuleOptions extends RuntimeOptions {
  /** The time billing and the daemons go by; default the system clock (or the test clock of the config). */
  clock?: Clock;
  /** Real time, for everything else (common/clock.ts); default the system clock. */
  wallClock?: Clock;
  /** pino's level for the JSON log lines; 'silent' when logging is off (tests). Default 'info'. */
  logLevel?: string;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The daemons' intervals (common/daemons.ts), cleared when the app closes.
        ScheduleModule.forRoot(),
        // JSON log lines (docs/ARCHITECTURE.md, Operating): one per request, each with its id.
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.logLevel ?? 'info',
            genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id: string }).id,
            customAttributeKeys: { reqId: 'requestId' },
            // Not a line per agent heartbeat or probe: those are counted (GET /api/metrics) instead.
            autoLogging: { ignore: (req: IncomingMessage) => /^\/api\/(agents\/heartbeat|health)/.test(req.url ?? '') },
            redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
          },
          // Nor a request logger made for them: a child logger with the request serialized, per
          // heartbeat, was a main-thread cost that grows with the market (docs/ARCHITECTURE.md §12).
          // What their handlers log goes out on the root logger, naming the agent.
          exclude: [
            { method: RequestMethod.POST, path: 'agents/heartbeat' },
            { method: RequestMethod.GET, path: 'health' },
            { method: RequestMethod.GET, path: 'health/ready' },
          ],
        }),
        CoreModule.forRoot(config, { seed: options.seed, daemons: options.daemons }, options.clock, options.wallClock),
        // The schema is migrated before any module gets the data source (database/migrate-schema.ts).
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(config),
          dataSourceFactory: (options) => openMigratedDataSource(options!),
        }),
        // Facts one context announces for another that it must not depend on (billing.events.ts, host.events.ts).
        EventEmitterModule.forRoot(),
        EventsModule,
        AccountsModule,
        AuthModule,
        CatalogModule,
        ProvidersModule,
        HostsApiModule,
        MarketModule,
        AgentsModule,
        NotificationsModule,
        BillingModule,
        NetworkModule,
        MachinesModule,
        MediaModule,
        MigrationsModule,
        ConsoleModule,
        OperatorModule,
        MetricsModule,
        SeedModule,
        // The built SPA at /, falling back to index.html for client routes; /api stays the API's.
        ...(config.webDir ? [SpaModule.serve(config.webDir)] : []),
      ],
      controllers: [HealthController],
    };
  }
}
