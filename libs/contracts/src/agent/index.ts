export * from './signing';
export * from './protocol';
