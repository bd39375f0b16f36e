import { Injectable, StreamableFile } from '@nestjs/common';
import { AgentAuth } from './agent-auth.service';
import { ImageStore } from './image-store.service';

/** GET /api/agents/images/:name for agents: the signed header first, then the file. */
@Injectable()
export class AgentDownloads {
  constructor(
    private readonly auth: AgentAuth,
    private readonly images: ImageStore,
  ) {}

  async image(name: string, header: string | undefined, from?: string): Promise<StreamableFile> {
    await this.auth.verifyHeader(`/api/agents/images/${name}`, header, from);
    const image = await this.images.describe(name);
    return new StreamableFile(this.images.open(image), { type: 'application/octet-stream', length: image.size });
  }
}
