export * from './vmm-driver';
export * from './accel-probe';
export * from './guest-image';
export { QemuDriver, saveStateWithRetry, type QemuDriverOptions } from './qemu/qemu-driver';
export { QmpClient, QmpError, QmpClosedError, type QmpEvent } from './qemu/qmp-client';
export { buildQemuArgs, validateSpec, MACHINE_FILES } from './qemu/command-line';
export { parsePpm, decodeVgaText, countLitPixels } from './qemu/screen';
