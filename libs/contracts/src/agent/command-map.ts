import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { HostFactsDto } from '../agents.dto';
import {
  AgentRetireCommandDto,
  AgentRetiredDto,
  AgentVmStateDto,
  ConsoleOpenCommandDto,
  ConsoleOpenResultDto,
  NoArgumentsDto,
  VmCommandDto,
  VmCreateCommandDto,
  VmMediaCommandDto,
  VmResumeCommandDto,
  VmSendKeysCommandDto,
  VmStartCommandDto,
  VmStopCommandDto,
} from './messages.dto';
import {
  MigrationExportCommandDto,
  MigrationExportResultDto,
  MigrationFinishCommandDto,
  MigrationFinishResultDto,
  MigrationPrepareCommandDto,
  MigrationPrepareResultDto,
  MigrationRequestCommandDto,
  MigrationRequestResultDto,
  MigrationStatusCommandDto,
  MigrationStatusResultDto,
  MigrationVmmpDto,
} from './migration.dto';
import { VnetSyncCommandDto, VnetSyncResultDto } from './network.dto';
import { AgentCommands, type AgentCommand } from './protocol';

type Dto = new () => object;

/**
 * The agent protocol, command by command: the DTO of its request (what the front-end sends,
 * validated by the agent) and of the `result` of its successful reply (validated by the
 * front-end). A list reply is written `[Dto]`. Stop and suspend return the machine at version + 1;
 * reboot and reset keep it running at its version; vm.delete returns it 'absent' (also when it
 * was already gone).
 */
export const AgentProtocol = {
  [AgentCommands.facts]: { request: NoArgumentsDto, result: HostFactsDto },
  [AgentCommands.list]: { request: NoArgumentsDto, result: [AgentVmStateDto] },
  [AgentCommands.create]: { request: VmCreateCommandDto, result: AgentVmStateDto },
  [AgentCommands.start]: { request: VmStartCommandDto, result: AgentVmStateDto },
  [AgentCommands.stop]: { request: VmStopCommandDto, result: AgentVmStateDto },
  [AgentCommands.reboot]: { request: VmCommandDto, result: AgentVmStateDto },
  [AgentCommands.reset]: { request: VmCommandDto, result: AgentVmStateDto },
  [AgentCommands.suspend]: { request: VmCommandDto, result: AgentVmStateDto },
  [AgentCommands.resume]: { request: VmResumeCommandDto, result: AgentVmStateDto },
  [AgentCommands.delete]: { request: VmCommandDto, result: AgentVmStateDto },
  [AgentCommands.attachMedia]: { request: VmMediaCommandDto, result: AgentVmStateDto },
  [AgentCommands.ejectMedia]: { request: VmCommandDto, result: AgentVmStateDto },
  [AgentCommands.sendKeys]: { request: VmSendKeysCommandDto, result: AgentVmStateDto },
  [AgentCommands.consoleOpen]: { request: ConsoleOpenCommandDto, result: ConsoleOpenResultDto },
  [AgentCommands.retire]: { request: AgentRetireCommandDto, result: AgentRetiredDto },
  [AgentCommands.migrationQuery]: { request: MigrationVmmpDto, result: MigrationVmmpDto },
  [AgentCommands.migrationPrepare]: { request: MigrationPrepareCommandDto, result: MigrationPrepareResultDto },
  [AgentCommands.migrationExport]: { request: MigrationExportCommandDto, result: MigrationExportResultDto },
  [AgentCommands.migrationRequest]: { request: MigrationRequestCommandDto, result: MigrationRequestResultDto },
  [AgentCommands.migrationStatus]: { request: MigrationStatusCommandDto, result: MigrationStatusResultDto },
  [AgentCommands.migrationFinish]: { request: MigrationFinishCommandDto, result: MigrationFinishResultDto },
  [AgentCommands.vnetSync]: { request: VnetSyncCommandDto, result: VnetSyncResultDto },
} as const satisfies { [C in AgentCommand]: { request: Dto; result: Dto | readonly [Dto] } };

type Shape<T> = T extends readonly [new () => infer I] ? I[] : T extends new () => infer I ? I : never;

/** What the front-end sends with command C. */
export type AgentRequest<C extends AgentCommand> = Shape<(typeof AgentProtocol)[C]['request']>;
/** The `result` of command C's successful reply. */
export type AgentResult<C extends AgentCommand> = Shape<(typeof AgentProtocol)[C]['result']>;

/** A checked message: the DTO instance (unknown fields dropped), or every problem, each naming its field. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[]; errors: ValidationError[] };

/** Checks `plain` against a DTO of the protocol (`[Dto]`: a list of them), as both ends do on arrival. */
export function checkAgentMessage<S extends Dto | readonly [Dto]>(dto: S, plain: unknown): Checked<Shape<S>> {
  const list = Array.isArray(dto);
  const cls = (list ? dto[0] : dto) as Dto;
  if (list ? !Array.isArray(plain) : !plain || typeof plain !== 'object' || Array.isArray(plain)) {
    const message = list ? 'a list is expected' : 'an object is expected';
    return { ok: false, problems: [message], errors: [] };
  }
  const items = (list ? plain : [plain]) as object[];
  const values: object[] = [];
  const errors: ValidationError[] = [];
  const problems: string[] = [];
  items.forEach((item, index) => {
    const value = plainToInstance(cls, item);
    // Unknown fields are dropped, not refused: either end may be a version newer than the other.
    const found = item && typeof item === 'object' && !Array.isArray(item) ? validateSync(value, { whitelist: true, forbidUnknownValues: false }) : [];
    if (!item || typeof item !== 'object' || Array.isArray(item)) problems.push(`${index}: an object is expected`);
    errors.push(...found);
    problems.push(...problemsOf(found, list ? String(index) : ''));
    values.push(value);
  });
  if (problems.length) return { ok: false, problems: [...new Set(problems)], errors };
  return { ok: true, value: (list ? values : values[0]) as Shape<S> };
}

/** Each constraint's message, the field's path in front when the message does not start with it. */
function problemsOf(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push(message.startsWith(error.property) && path !== error.property ? path + message.slice(error.property.length) : message);
    }
    if (error.children?.length) out.push(...problemsOf(error.children, path));
  }
  return out;
}
