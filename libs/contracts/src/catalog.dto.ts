import { ApiProperty } from '@nestjs/swagger';

export class ConfigurationDto {
  @ApiProperty({ description: 'Catalog entry id.', example: 'd9b2d3a4-1111-4a53-9d0e-6c1f0f2f9b11' })
  id: string;

  @ApiProperty({ description: 'Human-readable name.', example: 'Configuration1' })
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Speed in bogomips.', example: 4000 })
  speed: number;

  @ApiProperty({ description: 'Operating system (for a blank configuration, the one the buyer means to install).', example: 'linux' })
  os: string;

  @ApiProperty({ description: 'Memory in MB.', example: 64 })
  memory: number;

  @ApiProperty({ description: 'Disk in MB.', example: 100 })
  disk: number;

  @ApiProperty({ description: 'True for a preconfigured machine whose disk image has its OS installed.', example: false })
  preconfigured: boolean;

  @ApiProperty({ description: 'Name of the disk image of a preconfigured machine, or null.', example: null, nullable: true, type: String })
  image: string | null;

  @ApiProperty({
    description: 'Market-average storage price per month (30 days), or null before any host could hold it.',
    example: '3',
    nullable: true,
    type: String,
  })
  averageStoragePerMonth: string | null;

  @ApiProperty({
    description: 'Market-average running price per hour, or null before any host could hold it.',
    example: '0.064386',
    nullable: true,
    type: String,
  })
  averageRunningPerHour: string | null;

  @ApiProperty({
    description: 'When the averages were last computed from fitting hosts (ISO 8601), or null.',
    example: '2026-11-25T10:00:00.000Z',
    nullable: true,
    type: String,
  })
  averagesUpdatedAt: string | null;
}
