import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { MachinesModule } from '../machines/machines.module';
import { ConsoleController } from './console.controller';
import { CONSOLE_ENTITIES } from './console.entities';
import { ConsoleService } from './console.service';

/** Browser consoles: one-time tokens (in the database), the websocket relay to the agents' console ports, and keys. */
@Module({
  imports: [AuthModule, MachinesModule, AgentsModule, TypeOrmModule.forFeature(CONSOLE_ENTITIES)],
  controllers: [ConsoleController],
  providers: [ConsoleService],
})
export class ConsoleModule {}
