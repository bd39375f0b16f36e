export * from './vmm-driver';
export * from './accel-probe';
export * from './guest-image';
export { QemuDriver, type QemuDriverOptions } from './qemu/qemu-driver';
export { saveStateWithRetry } from './qemu/save-state';
export { KeyedLock } from './keyed-lock';
export { QmpClient, QmpError, QmpClosedError, type QmpEvent } from './qemu/qmp-client';
export { buildQemuArgs, validateSpec, MACHINE_FILES } from './qemu/command-line';
export { parsePpm, decodeVgaText, countLitPixels } from './qemu/screen';
