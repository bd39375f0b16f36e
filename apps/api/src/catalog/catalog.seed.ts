import type { Configuration } from './configuration.entity';

type Entry = Pick<Configuration, 'name' | 'processor' | 'speed' | 'os' | 'memory' | 'disk' | 'preconfigured' | 'image'>;

const standard = (n: number, speed: number, os: string): Entry => ({
  name: `Configuration${n}`,
  processor: 'Pentium3',
  speed,
  os,
  memory: speed === 4000 ? 64 : 32,
  disk: speed === 4000 ? 100 : 50,
  preconfigured: false,
  image: null,
});

/** The ten standard configurations of the report's fig. 6, and one preconfigured machine we can really boot. */
export const CATALOG: readonly Entry[] = [
  standard(1, 4000, 'win98'),
  standard(2, 2000, 'win98'),
  standard(3, 4000, 'win2000Pro'),
  standard(4, 2000, 'win2000Pro'),
  standard(5, 4000, 'freeBSD'),
  standard(6, 2000, 'freeBSD'),
  standard(7, 4000, 'Other'),
  standard(8, 2000, 'Other'),
  standard(9, 4000, 'linux'),
  standard(10, 2000, 'linux'),
  {
    name: 'tiny-linux',
    processor: 'QEMU TCG',
    speed: 2000,
    os: 'Linux (busybox)',
    memory: 128,
    disk: 64,
    preconfigured: true,
    image: 'tiny-linux.qcow2',
  },
];
