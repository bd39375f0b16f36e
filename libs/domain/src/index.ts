export * from './money/ratio';
export * from './money/money';
export * from './pricing';
export * from './matching';
export * from './market';
export * from './lifecycle';
export * from './billing';
