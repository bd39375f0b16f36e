import { Module } from '@nestjs/common';
import { OperatorController } from './operator.controller';
import { OperatorOverviewService } from './operator-overview.service';

/** The operator's view of the market (docs/ARCHITECTURE.md, Operating). */
@Module({
  controllers: [OperatorController],
  providers: [OperatorOverviewService],
  exports: [OperatorOverviewService],
})
export class OperatorModule {}
