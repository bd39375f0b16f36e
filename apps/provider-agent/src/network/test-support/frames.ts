import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A test's own port on a VDE switch: `vde_plug vde://<dir>` with frames on its stdin/stdout in
 * vde_plug's stream framing (a 2-byte big-endian length, then the frame).
 */
export class SwitchProbe {
  readonly child: ChildProcess;
  private buf = Buffer.alloc(0);
  readonly frames: Buffer[] = [];

  constructor(switchDir: string) {
    this.child = spawn('vde_plug', [`vde://${switchDir}`], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const n = this.buf.readUInt16BE(0);
        this.frames.push(this.buf.subarray(2, 2 + n));
        this.buf = this.buf.subarray(2 + n);
      }
    });
  }

  /** A broadcast frame from `srcMac` with an experimental EtherType carrying `text`. */
  send(srcMac: string, text: string): void {
    const frame = Buffer.concat([
      Buffer.alloc(6, 0xff),
      Buffer.from(srcMac.replace(/:/g, ''), 'hex'),
      Buffer.from('88b5', 'hex'),
      Buffer.from(text.padEnd(46, '.'), 'latin1'),
    ]);
    const h = Buffer.alloc(2);
    h.writeUInt16BE(frame.length);
    this.child.stdin!.write(Buffer.concat([h, frame]));
  }

  /** Did a frame carrying `text` arrive? */
  saw(text: string): boolean {
    return this.frames.some((f) => f.subarray(14).toString('latin1').startsWith(text));
  }

  close(): void {
    this.child.kill('SIGTERM');
  }
}
