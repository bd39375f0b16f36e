import { describe, expect, it } from 'vitest';
import {
  MAX_NETWORKS,
  type NetworkAgent,
  type NetworkPlan,
  chooseHub,
  desiredVnet,
  deviceAddress,
  deviceAddresses,
  nextFreeAddress,
  subnetFor,
  uplinkKeyOf,
} from './network';

const agent = (id: string, overrides: Partial<NetworkAgent> = {}): NetworkAgent => ({
  id,
  online: true,
  vnet: true,
  host: `${id}.example.net`,
  transfer: { sshPort: 2200, sshUser: 'virtuoso', hostKey: `ssh-ed25519 AAAAhost${id}` },
  ...overrides,
});
const agentsOf = (...list: NetworkAgent[]) => new Map(list.map((a) => [a.id, a]));
const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('subnets: one /24 per buyer in 10.64.0.0/10', () => {
  it('the first buyers get 10.64.0.0/24, 10.64.1.0/24; the 257th 10.65.0.0/24; the last 10.127.255.0/24; then none', () => {
    expect(subnetFor(0)).toBe('10.64.0.0/24');
    expect(subnetFor(1)).toBe('10.64.1.0/24');
    expect(subnetFor(255)).toBe('10.64.255.0/24');
    expect(subnetFor(256)).toBe('10.65.0.0/24');
    expect(subnetFor(MAX_NETWORKS - 1)).toBe('10.127.255.0/24');
    expect(() => subnetFor(MAX_NETWORKS)).toThrow(RangeError);
    expect(() => subnetFor(-1)).toThrow(RangeError);
    const all = new Set(Array.from({ length: 600 }, (_, i) => subnetFor(i)));
    expect(all.size).toBe(600);
  });
});

describe('machine addresses: the lowest free from .10 to .254', () => {
  it('a buyer starting machines one after another gets .10, .11, .12; a deleted one frees its address for the next', () => {
    const subnet = subnetFor(3);
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) taken.push(nextFreeAddress(subnet, taken)!);
    expect(taken).toEqual(['10.64.3.10', '10.64.3.11', '10.64.3.12']);
    // .11 is deleted: the next machine gets it, not .13.
    const afterDelete = taken.filter((address) => address !== '10.64.3.11');
    expect(nextFreeAddress(subnet, afterDelete)).toBe('10.64.3.11');
  });

  it('addresses of another subnet or the device range do not count; a full network has none left', () => {
    const subnet = subnetFor(0);
    expect(nextFreeAddress(subnet, ['10.64.1.10', '10.64.0.2', 'garbage'])).toBe('10.64.0.10');
    const full = Array.from({ length: 245 }, (_, i) => `10.64.0.${i + 10}`);
    expect(nextFreeAddress(subnet, full)).toBeNull();
  });
});

describe("the buyer's own computers: .2 to .9", () => {
  it('device 1 is .2, device 8 is .9; 0 and 9 are refused', () => {
    expect(deviceAddress('10.64.3.0/24', 1)).toBe('10.64.3.2');
    expect(deviceAddress('10.64.3.0/24', 8)).toBe('10.64.3.9');
    expect(deviceAddresses('10.64.3.0/24')).toHaveLength(8);
    expect(() => deviceAddress('10.64.3.0/24', 0)).toThrow(RangeError);
    expect(() => deviceAddress('10.64.3.0/24', 9)).toThrow(RangeError);
  });
});

describe('the hub of a network', () => {
  it('the agent holding the most running machines, ties by agent id; none when nothing runs', () => {
    const agents = agentsOf(agent('a'), agent('b'), agent('c'));
    expect(chooseHub(null, counts({ b: 1, c: 2 }), agents)).toBe('c');
    expect(chooseHub(null, counts({ c: 1, b: 1 }), agents)).toBe('b');
    expect(chooseHub(null, counts({}), agents)).toBeNull();
    expect(chooseHub('a', counts({}), agents)).toBeNull();
  });

  it('the current hub stays while it holds a machine or others are plugged into it, even when another agent holds more', () => {
    const agents = agentsOf(agent('a'), agent('b'));
    expect(chooseHub('a', counts({ a: 1, b: 5 }), agents)).toBe('a');
    // Its last machine stopped but b's run: b stays plugged into a.
    expect(chooseHub('a', counts({ b: 5 }), agents)).toBe('a');
  });

  it('an offline hub, or one that lost its transfer sshd or VDE, is replaced; an agent that cannot be a hub is never chosen', () => {
    expect(chooseHub('a', counts({ a: 2, b: 1 }), agentsOf(agent('a', { online: false }), agent('b')))).toBe('b');
    expect(chooseHub('a', counts({ a: 2, b: 1 }), agentsOf(agent('a', { transfer: null }), agent('b')))).toBe('b');
    expect(chooseHub(null, counts({ a: 2, b: 1 }), agentsOf(agent('a', { vnet: false }), agent('b')))).toBe('b');
    expect(chooseHub(null, counts({ a: 2 }), agentsOf(agent('a', { transfer: null })))).toBeNull();
  });
});

describe('what each agent should hold (desiredVnet)', () => {
  const buyerKeys = [{ id: 'k1', publicKey: 'ssh-ed25519 AAAAbuyer1' }];

  it('one buyer, machines on two agents: the hub admits the spoke key it knows and the buyer keys; the spoke gets the hub as uplink', () => {
    const agents = agentsOf(agent('a'), agent('b'));
    const network: NetworkPlan = { id: 'n1', hubAgentId: null, machineAgentIds: ['a', 'a', 'b'], buyerKeys };
    // First round: b's uplink key is not known yet (it reports it in its first sync reply).
    const first = desiredVnet([network], agents, new Map());
    expect(first.hubs.get('n1')).toBe('a');
    expect(first.agents.get('a')).toEqual([{ networkId: 'n1', admit: [{ publicKey: 'ssh-ed25519 AAAAbuyer1', label: 'buyer-key:k1' }] }]);
    expect(first.agents.get('b')).toEqual([
      {
        networkId: 'n1',
        uplink: { agentId: 'a', host: 'a.example.net', sshPort: 2200, sshUser: 'virtuoso', hostKey: 'ssh-ed25519 AAAAhosta' },
        admit: [],
      },
    ]);
    // Second round, b's key known: the hub admits it.
    const second = desiredVnet([{ ...network, hubAgentId: 'a' }], agents, new Map([[uplinkKeyOf('n1', 'b'), 'ssh-ed25519 AAAAspokeb']]));
    expect(second.agents.get('a')![0].admit).toEqual([
      { publicKey: 'ssh-ed25519 AAAAspokeb', label: 'agent:b' },
      { publicKey: 'ssh-ed25519 AAAAbuyer1', label: 'buyer-key:k1' },
    ]);
  });

  it("two buyers on the same agents: each network's admissions hold only its own keys; a network with nothing running is held by nobody", () => {
    const agents = agentsOf(agent('a'), agent('b'));
    const keys = new Map([
      [uplinkKeyOf('n1', 'b'), 'ssh-ed25519 AAAAn1b'],
      [uplinkKeyOf('n2', 'a'), 'ssh-ed25519 AAAAn2a'],
    ]);
    const result = desiredVnet(
      [
        { id: 'n1', hubAgentId: 'a', machineAgentIds: ['a', 'b'], buyerKeys: [{ id: 'k1', publicKey: 'ssh-ed25519 AAAAbuyer1' }] },
        { id: 'n2', hubAgentId: 'b', machineAgentIds: ['a', 'b'], buyerKeys: [{ id: 'k2', publicKey: 'ssh-ed25519 AAAAbuyer2' }] },
        { id: 'n3', hubAgentId: 'a', machineAgentIds: [], buyerKeys: [] },
      ],
      agents,
      keys,
    );
    const onA = result.agents.get('a')!;
    expect(onA.map((n) => n.networkId)).toEqual(['n1', 'n2']);
    expect(onA[0].admit.map((k) => k.publicKey)).toEqual(['ssh-ed25519 AAAAn1b', 'ssh-ed25519 AAAAbuyer1']);
    expect(onA[1].uplink?.agentId).toBe('b');
    const onB = result.agents.get('b')!;
    expect(onB[1].admit.map((k) => k.publicKey)).toEqual(['ssh-ed25519 AAAAn2a', 'ssh-ed25519 AAAAbuyer2']);
    expect(result.hubs.get('n3')).toBeNull();
  });

  it('the hub keeps the network after its own machine stops while a spoke still runs one; no hub possible: each agent holds its switch alone', () => {
    const agents = agentsOf(agent('a'), agent('b'));
    const kept = desiredVnet([{ id: 'n1', hubAgentId: 'a', machineAgentIds: ['b'], buyerKeys: [] }], agents, new Map());
    expect(kept.hubs.get('n1')).toBe('a');
    expect(kept.agents.get('a')).toEqual([{ networkId: 'n1', admit: [] }]);
    expect(kept.agents.get('b')![0].uplink?.agentId).toBe('a');

    const noSshd = agentsOf(agent('a', { transfer: null }), agent('b', { transfer: null }));
    const alone = desiredVnet([{ id: 'n1', hubAgentId: null, machineAgentIds: ['a', 'b'], buyerKeys }], noSshd, new Map());
    expect(alone.hubs.get('n1')).toBeNull();
    expect(alone.agents.get('a')).toEqual([{ networkId: 'n1', admit: [] }]);
    expect(alone.agents.get('b')).toEqual([{ networkId: 'n1', admit: [] }]);
  });
});
