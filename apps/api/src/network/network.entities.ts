import { NetworkAgentRow } from './network-agent.entity';
import { PrivateNetwork } from './private-network.entity';
import { SshKey } from './ssh-key.entity';

/** Every network table: the same classes map to SQLite and PostgreSQL. */
export const NETWORK_ENTITIES = [SshKey, PrivateNetwork, NetworkAgentRow];
