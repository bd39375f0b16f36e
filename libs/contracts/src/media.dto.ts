import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { NoControlCharacters } from './validation';

/** A machine an install medium is attached to. */
export class MediaMachineRefDto {
  @ApiProperty({ description: 'Machine id.', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Machine name.', example: 'Configuration1' })
  name: string;
}

/** An ISO image in a buyer's media library (the report's future work, §5.1.4: installing an OS). */
export class MediaDto {
  @ApiProperty({ description: 'Media id.', example: '6a1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Name shown in the library.', example: 'debian-12-netinst.iso' })
  name: string;

  @ApiProperty({ description: 'Size in bytes.', example: 11534336 })
  size: number;

  @ApiProperty({ description: 'SHA-256 of the file, hex.', example: 'b04015860c2655744f80168f0a311924590e40c0dd9358786f09b4a310ffb776' })
  sha256: string;

  @ApiProperty({
    description: 'Machines it is attached to as CD-ROM.',
    type: MediaMachineRefDto,
    isArray: true,
    example: [{ id: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e', name: 'Configuration1' }],
  })
  attachedTo: MediaMachineRefDto[];

  @ApiProperty({ description: 'When it was uploaded (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;
}

/** The text fields of the multipart upload (the file itself is the `file` part). */
export class UploadMediaDto {
  @ApiPropertyOptional({ description: "Name shown in the library; the file's name when left out.", example: 'debian-12-netinst.iso' })
  @IsOptional()
  @IsString()
  @Length(1, 120, { message: 'name must be 1 to 120 characters' })
  @NoControlCharacters('name')
  name?: string;
}

export class AttachMediaDto {
  @ApiProperty({ description: 'An ISO of your media library.', example: '6a1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  @IsUUID('all', { message: 'mediaId must be a media id' })
  mediaId: string;
}

/** Attached medium of a machine. */
export class MediaRefDto {
  @ApiProperty({ description: 'Media id.', example: '6a1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Media name.', example: 'debian-12-netinst.iso' })
  name: string;
}
