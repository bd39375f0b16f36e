import { Entity, Index } from 'typeorm';
import { IdColumn, IntColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** An ISO image in a buyer's media library, kept at <data>/media/<id>.iso. */
@Entity('media')
export class Media {
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  ownerId: string;

  @TextColumn(120)
  name: string;

  /** Bytes (integer: up to 2^53, far above the upload limit). */
  @IntColumn()
  size: number;

  @TextColumn(64)
  sha256: string;

  @TimeColumn()
  createdAt: string;
}
