export interface PostgresCluster {
  dir: string;
  port: number;
  url(database?: string): string;
  admin(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
  createDatabase(name: string, template?: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  stop(): void;
}
export function postgresBinDir(): string;
export function freePort(): Promise<number>;
export function startCluster(options?: { port?: number; label?: string; maxConnections?: number }): Promise<PostgresCluster>;
export function writeClusterFile(path: string, cluster: PostgresCluster): void;
