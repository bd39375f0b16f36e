export * from './signing';
export * from './protocol';
export * from './messages.dto';
export * from './command-map';
export * from './migration';
export * from './migration.dto';
export * from './network';
export * from './network.dto';
