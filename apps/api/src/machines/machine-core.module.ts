import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingModule } from '../billing/billing.module';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';
import { RunningMeter } from './running-meter.service';

/** Machine rows and the running meter (billing's hooks), shared by the machines context and the agents context (heartbeats, reconciler). */
@Module({
  imports: [TypeOrmModule.forFeature([Machine]), BillingModule],
  providers: [MachineStore, RunningMeter],
  exports: [MachineStore, RunningMeter],
})
export class MachineCoreModule {}
