import { Column, ColumnOptions, PrimaryColumn } from 'typeorm';

/**
 * Column kinds used by every entity, chosen to mean the same on SQLite and PostgreSQL:
 * ids are UUIDs issued in code, money and prices are exact decimal strings, times are ISO strings.
 */
export const IdColumn = () => PrimaryColumn({ type: 'varchar', length: 36 });
export const RefColumn = (options: ColumnOptions = {}) => Column({ type: 'varchar', length: 36, ...options });
export const MoneyColumn = (options: ColumnOptions = {}) => Column({ type: 'varchar', length: 40, ...options });
export const TimeColumn = (options: ColumnOptions = {}) => Column({ type: 'varchar', length: 30, ...options });
export const TextColumn = (length: number, options: ColumnOptions = {}) => Column({ type: 'varchar', length, ...options });
export const IntColumn = (options: ColumnOptions = {}) => Column({ type: 'integer', ...options });
export const BoolColumn = (options: ColumnOptions = {}) => Column({ type: 'boolean', ...options });

/**
 * An instant (or a duration) in integer milliseconds, where billing does arithmetic on times:
 * `bigint` on both databases; PostgreSQL's driver returns int8 as text, so it is read back as a
 * number (ms since the epoch stay far below 2^53).
 */
export const msTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? null : Number(value)),
};
export const MsColumn = (options: ColumnOptions = {}) => Column({ type: 'bigint', transformer: msTransformer, ...options });
