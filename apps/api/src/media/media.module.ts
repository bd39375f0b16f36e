import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from '../agents/agents.module';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { IsoUploadInterceptor } from './iso-upload.interceptor';
import { AgentMediaController, MediaController } from './media.controller';
import { Media } from './media.entity';
import { MediaGrant } from './media-grant.entity';
import { MediaService } from './media.service';

/** Install media: a buyer's ISO library, and the signed downloads agents attach them from. */
@Module({
  imports: [TypeOrmModule.forFeature([Media, MediaGrant, Machine, Host]), AgentsModule],
  controllers: [MediaController, AgentMediaController],
  providers: [MediaService, IsoUploadInterceptor],
  exports: [MediaService],
})
export class MediaModule {}
