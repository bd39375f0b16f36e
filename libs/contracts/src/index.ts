export * from './validation';
export * from './errors.dto';
export * from './auth.dto';
export * from './catalog.dto';
export * from './hosts.dto';
export * from './machines.dto';
export * from './agent';
