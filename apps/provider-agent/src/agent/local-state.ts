import * as path from 'node:path';
import { readJson, writeJsonAtomic } from './json-file';

/** What the agent remembers about a machine beyond the driver's machine.json. */
export interface MachineRecord {
  /** Preconfigured image it was copied from (report §6.3.1), if any. */
  image?: { name: string; sha256: string };
  /** Install media in its CD-ROM drive: the front-end's media id and the cached ISO. */
  media?: { id: string; sha256: string; path: string } | null;
  createdAt: string;
  /** Set while the machine is exported to a destination (docs/ARCHITECTURE.md §7): it may not be
   *  started, resumed, deleted or have its media changed until the migration finishes. */
  migration?: { id: string; role: 'origin'; since: string };
}

/** state.json in the data dir (report §6.2.2's local state files). */
export class LocalState {
  private readonly file: string;
  private machines: Record<string, MachineRecord>;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'state.json');
    this.machines = readJson<{ machines?: Record<string, MachineRecord> }>(this.file, {}).machines ?? {};
  }

  get(id: string): MachineRecord | undefined {
    return this.machines[id];
  }

  set(id: string, r: MachineRecord): void {
    this.machines[id] = r;
    this.save();
  }

  update(id: string, fn: (r: MachineRecord) => void): void {
    const r = this.machines[id] ?? { createdAt: new Date().toISOString() };
    fn(r);
    this.set(id, r);
  }

  /** Ids of the machines that have a record (state.json may outlive a machine's directory). */
  ids(): string[] {
    return Object.keys(this.machines);
  }

  delete(id: string): void {
    if (!(id in this.machines)) return;
    delete this.machines[id];
    this.save();
  }

  private save(): void {
    writeJsonAtomic(this.file, { machines: this.machines });
  }
}
