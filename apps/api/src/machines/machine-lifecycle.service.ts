import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type MachineAction, allowedActions, beginAction, completeAction } from '@virtuoso/domain';
import { EntityManager, Repository } from 'typeorm';
import { Actor, isSystemActor } from '../common/actor';
import { AuthUser } from '../common/auth.decorators';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { ApiError, conflict, notFound } from '../common/errors';
import { describeIfMatch, etagOf, IfMatchValue, ifMatchHolds } from '../common/if-match';
import { nowIso } from '../common/time';
import { ActionOptions, AgentAction } from './agent-commands';
import { MachineAgent, failureOf } from './machine-agent.service';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';

/** Extra work done in the same transaction as a state change; returns columns to set with it. */
export interface Hooks {
  begin?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  succeeded?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  failed?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
}

/** 412: the machine moved on from what the client saw (an If-Match of a bare version names only the version). */
function preconditionFailed(machine: Machine, ifMatch: IfMatchValue): ApiError {
  const now = typeof ifMatch === 'number' ? `version ${machine.version}` : `ETag ${etagOf(machine.version, machine.revision)}`;
  return new ApiError(412, `machine ${machine.name} is at ${now}, not ${describeIfMatch(ifMatch)}; reload it and try again`);
}

/**
 * The lifecycle of one machine action. Check the actor (a buyer acts on their own machines only),
 * the If-Match version and the transition table of libs/domain; move to the transient state with a
 * compare-and-set on (id, state, version), so of two concurrent commands only one applies; ask the
 * host agent; settle at the target (or, on failure, back where it was, version unchanged, with
 * lastError).
 */
@Injectable()
export class MachineLifecycle {
  private readonly logger = new Logger('Machines');

  constructor(
    private readonly db: Database,
    private readonly machineStore: MachineStore,
    private readonly agent: MachineAgent,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /** The machine, if the actor may act on it: a user's own (not deleted), or any for the system; else 404. */
  async find(actor: Actor | Pick<AuthUser, 'id'>, id: string): Promise<Machine> {
    const machine = await this.machines.findOneBy(isSystemActor(actor) ? { id } : { id, ownerId: actor.id });
    if (!machine || machine.state === 'deleted') throw notFound('machine');
    return machine;
  }

  /** The transition table decides; anything else is a 409 listing what the state allows. */
  begin(machine: Machine, action: MachineAction) {
    const begun = beginAction({ state: machine.state, version: machine.version }, action);
    if (!begun.ok) {
      throw new ApiError(409, `Cannot ${action} a machine that is ${machine.state}`, { allowedActions: begun.allowed });
    }
    return begun;
  }

  checkVersion(machine: Machine, ifMatch: IfMatchValue | undefined): void {
    if (!ifMatchHolds(ifMatch, machine)) throw preconditionFailed(machine, ifMatch!);
  }

  /** Explains a compare-and-set that found the machine moved on, from what it is now. */
  async lostRace(em: EntityManager, id: string, action: MachineAction, ifMatch: IfMatchValue | undefined): Promise<ApiError> {
    const now = await em.findOneByOrFail(Machine, { id });
    if (!ifMatchHolds(ifMatch, now)) return preconditionFailed(now, ifMatch!);
    const begun = beginAction({ state: now.state, version: now.version }, action);
    if (!begun.ok) return new ApiError(409, `Cannot ${action} a machine that is ${now.state}`, { allowedActions: begun.allowed });
    return new ApiError(409, `machine ${now.name} changed meanwhile; reload it and try again`, { allowedActions: allowedActions(now.state) });
  }

  /** Begins the action, has the agent carry it out and settles the machine; returns the machine as it then is. */
  async perform(actor: Actor, id: string, action: AgentAction, ifMatch: IfMatchValue | undefined, hooks: Hooks, options: ActionOptions = {}): Promise<Machine> {
    const machine = await this.find(actor, id);
    this.checkVersion(machine, ifMatch);
    const begun = this.begin(machine, action);
    if (isSystemActor(actor)) this.logger.log(`${action} of ${machine.name} (${machine.id}) by the system: ${actor.reason}`);
    // Every move this request causes, up to the settling after the agent's answer, is the user's (the system has no user id).
    const actorId = isSystemActor(actor) ? null : actor.id;

    const instant = begun.transient === begun.target;
    const underway = await this.db.transaction(async (em) => {
      const extra = hooks.begin ? await hooks.begin(em, machine) : {};
      const changes: Partial<Machine> = instant
        ? { ...extra, state: begun.target, previousState: null, lastError: null }
        : { ...extra, state: begun.transient, previousState: machine.state, lastError: null, transientSince: nowIso(this.wallClock) };
      const written = await this.machineStore.write(em, machine, changes, { actorId });
      if (!written) throw await this.lostRace(em, machine.id, action, ifMatch);
      return written;
    });
    if (instant) return underway;

    const status = { state: underway.state, version: underway.version, previousState: machine.state };
    const success = completeAction(status, 'succeeded');
    let forwarded: Partial<Machine> = {};
    try {
      const target = await this.agent.targetOf(underway.hostId);
      const seen = await this.agent.carryOut(action, target, underway, success.version, options);
      this.agent.checkAgentVersion(underway, action, seen, success.version);
      // A start or resume answers the forwarded ports of the new VMM; they are asked for again next time.
      if (success.state === 'running' && seen?.forwards?.length) {
        forwarded = { forwards: seen.forwards, lastHostPorts: seen.forwards.map((forward) => forward.hostPort) };
      }
    } catch (error) {
      const failure = failureOf(error);
      if (failure.unknown) {
        // Sent but unanswered: the agent may have done it. The machine stays in its transient state
        // until the reconciler settles it from the agent's heartbeat.
        const lastError = `${action} of ${machine.name}: ${failure.message}; the machine will be settled from the agent's heartbeats`.slice(0, 500);
        await this.db.transaction((em) => this.machineStore.write(em, underway, { lastError }, { actorId })).catch(() => null);
        throw new ApiError(failure.status, lastError);
      }
      // It did not happen: the machine does not stay in its transient state.
      const back = completeAction(status, 'failed');
      const lastError = `could not ${action} ${machine.name}: ${failure.message}`.slice(0, 500);
      await this.settle(underway, { state: back.state, version: back.version, lastError }, actorId, hooks.failed);
      throw new ApiError(failure.status, lastError);
    }
    return this.settle(underway, { ...forwarded, state: success.state, version: success.version, lastError: null }, actorId, hooks.succeeded);
  }

  private async settle(
    underway: Machine,
    outcome: Pick<Machine, 'state' | 'version' | 'lastError'> & Partial<Machine>,
    actorId: string | null,
    hook?: Hooks['succeeded'],
  ): Promise<Machine> {
    return this.db.transaction(async (em) => {
      const extra = hook ? await hook(em, underway) : {};
      const written = await this.machineStore.write(em, underway, { ...extra, ...outcome, previousState: null, transientSince: null }, { actorId });
      if (!written) throw conflict(`machine ${underway.name} changed while ${underway.state}; reload it`);
      return written;
    });
  }
}
