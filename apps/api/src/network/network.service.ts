import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { HostNetworkFacts, MachineNetworkDto, NetworkDto, SetForwardedPortsDto, VmNetworkConfig } from '@virtuoso/contracts';
import { NETWORK_PREFIX_LENGTH, deviceAddresses, nextFreeAddress, subnetFor } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, IsNull, Not, Repository } from 'typeorm';
import { Agent } from '../agents/agent.entity';
import { parseFacts } from '../agents/online';
import { AuthUser } from '../common/auth.decorators';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { badRequest, conflict, isUniqueViolation, notFound } from '../common/errors';
import { nowIso } from '../common/time';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { PrivateNetwork } from './private-network.entity';
import { SshKeysService } from './ssh-keys.service';

/** ssh is forwarded first, always; the buyer adds at most 7 more (the agent forwards at most 8). */
export const SSH_PORT = 22;

/** The guest's host name from the machine's name: an RFC 1123 label (letters, digits, '-'). */
export function hostnameFor(machine: Pick<Machine, 'id' | 'name'>): string {
  const label = machine.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || `vm-${machine.id.slice(0, 8)}`;
}

/** The ssh command for a forwarded ssh port. */
export const sshCommandFor = (hostPort: number, publicHost: string) => `ssh -p ${hostPort} root@${publicHost}`;

/**
 * A buyer's private network and a machine's place in it (docs/ARCHITECTURE.md §11): the network
 * (made on first need, its subnet from its number), the machine's address (assigned at its first
 * start, the lowest free), its forwarded ports, and the network config sent with vm.start and
 * vm.resume. The agents' side (which agent holds what) is NetworkSync's.
 */
@Injectable()
export class NetworkService {
  constructor(
    private readonly db: Database,
    private readonly sshKeys: SshKeysService,
    @InjectRepository(PrivateNetwork) private readonly networks: Repository<PrivateNetwork>,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /** The buyer's network, made (with the next free number) when it does not exist yet. */
  async ensureNetwork(em: EntityManager, userId: string): Promise<PrivateNetwork> {
    const existing = await em.findOneBy(PrivateNetwork, { userId });
    if (existing) return existing;
    const last = await em.find(PrivateNetwork, { select: { index: true }, order: { index: 'DESC' }, take: 1 });
    const index = (last[0]?.index ?? -1) + 1;
    // Throws past the last subnet of 10.64.0.0/10.
    subnetFor(index);
    const row: PrivateNetwork = { id: randomUUID(), userId, index, hubAgentId: null, createdAt: nowIso(this.wallClock) };
    await em.insert(PrivateNetwork, row);
    return row;
  }

  /**
   * The buyer's network outside any transaction (GET pages, before a start), made if needed. Two
   * networks made at once may pick the same number (on PostgreSQL): the unique index refuses one,
   * which tries again.
   */
  async networkOf(userId: string): Promise<PrivateNetwork> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction((em) => this.ensureNetwork(em, userId));
      } catch (error) {
        if (attempt >= 3 || !isUniqueViolation(error)) throw error;
      }
    }
  }

  /**
   * The machine's address, inside the start's (or resume's) transaction: kept when it has one,
   * else the lowest free of its buyer's network (the unique index on owner and address refuses a
   * concurrent start that picked the same). Returns the columns to set.
   */
  async assignAddress(em: EntityManager, machine: Machine): Promise<Partial<Machine>> {
    if (machine.privateAddress) return {};
    const network = await this.ensureNetwork(em, machine.ownerId);
    const taken = await em.find(Machine, { select: { privateAddress: true }, where: { ownerId: machine.ownerId, privateAddress: Not(IsNull()) } });
    const address = nextFreeAddress(
      subnetFor(network.index),
      taken.map((m) => m.privateAddress!),
    );
    if (!address) throw conflict(`your private network ${subnetFor(network.index)} has no free address left; delete a machine first`);
    return { privateAddress: address };
  }

  /** The network part of vm.start and vm.resume: private NIC, forwarded ports, keys, host name.
   *  The private NIC only on a host that can carry the buyer's segment (VDE and a transfer sshd,
   *  its facts say): elsewhere the machine runs with its private NIC unplugged, as it always has
   *  the same devices. */
  async vmNetworkConfig(machine: Machine): Promise<VmNetworkConfig> {
    const carries = (await this.hostNetworkFacts(machine.hostId))?.vnet === true;
    const network = machine.privateAddress && carries ? await this.networks.findOneBy({ userId: machine.ownerId }) : null;
    const keys = await this.sshKeys.publicKeysOf(machine.ownerId);
    return {
      ...(network && machine.privateAddress
        ? { private: { networkId: network.id, address: machine.privateAddress, prefixLength: NETWORK_PREFIX_LENGTH } }
        : {}),
      forwardPorts: [SSH_PORT, ...machine.forwardPorts],
      ...(machine.lastHostPorts.length ? { preferredHostPorts: machine.lastHostPorts } : {}),
      sshKeys: keys.map((key) => key.publicKey),
      hostname: hostnameFor(machine),
    };
  }

  /** GET /api/machines/{id}/network. */
  async machineNetwork(user: Pick<AuthUser, 'id'>, id: string): Promise<MachineNetworkDto> {
    const machine = await this.ownMachine(user, id);
    const network = await this.networkOf(user.id);
    const facts = await this.hostNetworkFacts(machine.hostId);
    const ssh = machine.forwards.find((forward) => forward.guestPort === SSH_PORT);
    return {
      mac: machine.macAddress,
      privateAddress: machine.privateAddress,
      subnet: subnetFor(network.index),
      forwardPorts: [SSH_PORT, ...machine.forwardPorts],
      forwards: machine.forwards,
      publicHost: facts?.publicHost ?? null,
      sshCommand: ssh && facts ? sshCommandFor(ssh.hostPort, facts.publicHost) : null,
      outbound: facts?.outbound ?? null,
    };
  }

  /** PUT /api/machines/{id}/network/ports: the extra guest ports, from the next start or resume. */
  async setForwardedPorts(user: Pick<AuthUser, 'id'>, id: string, dto: SetForwardedPortsDto): Promise<MachineNetworkDto> {
    if (dto.ports.includes(SSH_PORT)) throw badRequest('ports', 'ports must not hold 22: ssh is always forwarded');
    const seen = new Set<number>();
    for (const port of dto.ports) {
      if (seen.has(port)) throw badRequest('ports', `ports holds ${port} twice; give each port once`);
      seen.add(port);
    }
    const machine = await this.ownMachine(user, id);
    await this.db.transaction((em) => em.update(Machine, { id: machine.id, ownerId: user.id }, { forwardPorts: dto.ports }));
    return this.machineNetwork(user, id);
  }

  /** GET /api/network. */
  async networkDto(user: Pick<AuthUser, 'id'>, hubAgentId?: string | null): Promise<NetworkDto> {
    const network = await this.networkOf(user.id);
    const members = await this.machines.find({
      where: { ownerId: user.id, privateAddress: Not(IsNull()), state: Not('deleted' as const) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    const hostIds = [...new Set(members.map((m) => m.hostId).filter((h): h is string => !!h))];
    const hosts = hostIds.length ? await this.hosts.findBy({ id: In(hostIds) }) : [];
    const hub = hubAgentId === undefined ? network.hubAgentId : hubAgentId;
    const hubHost = hub ? await this.hosts.findOneBy({ agentId: hub }) : null;
    const subnet = subnetFor(network.index);
    return {
      id: network.id,
      subnet,
      hubHostName: hubHost?.name ?? null,
      members: members.map((m) => ({
        machineId: m.id,
        name: m.name,
        address: m.privateAddress!,
        mac: m.macAddress,
        state: m.state,
        hostName: hosts.find((h) => h.id === m.hostId)?.name ?? null,
      })),
      deviceAddresses: deviceAddresses(subnet),
    };
  }

  /** The buyer's machine (not deleted), else 404. */
  async ownMachine(user: Pick<AuthUser, 'id'>, id: string): Promise<Machine> {
    const machine = await this.machines.findOneBy({ id, ownerId: user.id });
    if (!machine || machine.state === 'deleted') throw notFound('machine');
    return machine;
  }

  /** The network facts the agent of a host last reported, or null. */
  private async hostNetworkFacts(hostId: string | null): Promise<HostNetworkFacts | null> {
    const host = hostId ? await this.hosts.findOneBy({ id: hostId }) : null;
    const agent = host?.agentId ? await this.agents.findOneBy({ id: host.agentId }) : null;
    return parseFacts(agent?.facts)?.network ?? null;
  }
}
