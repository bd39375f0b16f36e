import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsQueryBoolean } from './validation';

/** DELETE /api/hosts/:id?force=true: removing a host that still stores machines. */
export class RemoveHostQueryDto {
  @ApiPropertyOptional({
    description: 'true: remove the host even though machines are stored on it (with confirmName). They go back to registered and their owners are told.',
    type: String,
    enum: ['true', 'false'],
    example: 'true',
  })
  @IsOptional()
  @IsQueryBoolean('force')
  force?: boolean;
}

export class RemoveHostDto {
  @ApiPropertyOptional({ description: "The host's name typed again, to confirm a forced removal.", example: 'virt8' })
  @IsOptional()
  @IsString({ message: "confirmName must be the host's name" })
  @MaxLength(60, { message: "confirmName must be the host's name" })
  confirmName?: string;
}
