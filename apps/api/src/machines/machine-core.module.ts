import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';
import { RunningMeter } from './running-meter.service';

/** Machine rows and the running meter, shared by the machines context and the agents context (heartbeats, reconciler). */
@Module({
  imports: [TypeOrmModule.forFeature([Machine])],
  providers: [MachineStore, RunningMeter],
  exports: [MachineStore, RunningMeter],
})
export class MachineCoreModule {}
