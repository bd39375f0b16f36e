/** Reported to the front-end in HostFacts.agentVersion. */
export const AGENT_VERSION = '0.1.0';
