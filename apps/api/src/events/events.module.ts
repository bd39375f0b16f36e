import { Global, Module } from '@nestjs/common';
import { AgentCommandLog } from './agent-command-log';
import { EventLog } from './event-log.service';
import { EventQueries } from './event-queries.service';
import { EventsController } from './events.controller';

/**
 * The market's event log (docs/ARCHITECTURE.md "Event log"). Global: every context records its
 * events (machines, agents, billing, migrations, notices) and none should import the others for it.
 */
@Global()
@Module({
  controllers: [EventsController],
  providers: [EventLog, EventQueries, AgentCommandLog],
  exports: [EventLog, AgentCommandLog],
})
export class EventsModule {}
