import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { MachinesModule } from '../machines/machines.module';
import { ConsoleController } from './console.controller';
import { ConsoleService } from './console.service';

/** Browser consoles: one-time tokens, the websocket relay to the agents' console ports, and keys. */
@Module({
  imports: [AuthModule, MachinesModule, AgentsModule],
  controllers: [ConsoleController],
  providers: [ConsoleService],
})
export class ConsoleModule {}
