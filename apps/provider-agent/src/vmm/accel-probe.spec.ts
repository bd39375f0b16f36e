import { accessSync, constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseAccelerator } from './accel-probe';
import { guestImage } from './guest-image';

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

describe('chooseAccelerator', () => {
  it('honours the configuration without probing', async () => {
    expect(await chooseAccelerator({ mode: 'tcg' })).toMatchObject({ accel: 'tcg', source: 'config' });
    expect(await chooseAccelerator({ mode: 'kvm' })).toMatchObject({ accel: 'kvm', source: 'config' });
  });

  it('uses TCG when there is no KVM device', async () => {
    const c = await chooseAccelerator({ mode: 'probe', kvmDevice: '/nonexistent/kvm', cacheFile: null });
    expect(c).toMatchObject({ accel: 'tcg', source: 'no-kvm-device' });
  });

  it('uses TCG when there is no probe guest', async () => {
    if (!kvmUsable()) return;
    const c = await chooseAccelerator({ mode: 'probe', image: guestImage('/nonexistent/images'), cacheFile: null });
    expect(c).toMatchObject({ accel: 'tcg', source: 'no-probe-image' });
  });

  it.runIf(kvmUsable())('decides by booting the tiny guest under KVM (not by /dev/kvm existing)', async () => {
    const c = await chooseAccelerator({ mode: 'probe', cacheFile: null });
    console.log(`accel probe: ${JSON.stringify(c)}`);
    expect(c.source).toBe('probe');
    expect(['kvm', 'tcg']).toContain(c.accel);
    expect(c.probeMs).toBeGreaterThan(0);
    if (c.accel === 'kvm') expect(c.reason).toMatch(/booted/);
  });
});
