import { Global, Module } from '@nestjs/common';
import { OperatorModule } from '../operator/operator.module';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics.service';

/** Metrics for Prometheus; global, so that any context can count what it does (docs/ARCHITECTURE.md, Operating). */
@Global()
@Module({
  imports: [OperatorModule],
  controllers: [MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class MetricsModule {}
