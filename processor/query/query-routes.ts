/**
 * State queries over HTTP: GET /v1/apps/{app}/stores/{store}/keys/{key}[/windows?from&to].
 * The key is the group's values as a JSON array (or the bare value for a one-field group). The
 * partition owning the key is computed as the producers do (murmur2 of the partition key); the
 * owner answers from its committed state; any other instance forwards to the owner found in the
 * lease table; with ?allowStale=true a standby answers from its own copy, with its lag.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../common/auth/key-store.ts';
import { partitionForKey } from '../../common/kafka/index.ts';
import type { CompiledApp } from '../app/compile.ts';
import { sendProcessorProblem } from '../http-problem.ts';
import type { KeyValueStore } from '../state/store.ts';
import { lookupGroup } from './state-lookup.ts';

export interface QueryContext {
  appId: string;
  compiled: CompiledApp;
  partitions: number;
  /** This instance's store for the partition: as active, or (when stale answers are allowed) as standby. */
  localStore(
    partition: number,
    allowStale: boolean,
  ):
    | { store: KeyValueStore; role: 'active' | 'standby'; lag?: () => Promise<number | undefined> }
    | undefined;
  /** The HTTP address of the partition's owner (the slot's lease holder), when known. */
  ownerAddress(partition: number): Promise<string | undefined>;
  /** This instance's advertised address (known once it listens). */
  selfAddress(): string;
  /** The caller's identity when API keys are on (see http-auth.ts); a tenant key reads only its tenant. */
  identityOf?(request: FastifyRequest): Identity | undefined;
}

const forwardedHeader = 'x-sluice-forwarded';

const problem = sendProcessorProblem;
/** Headers that carry the caller's key: a forwarded query is answered under the caller's identity. */
const identityHeaders = ['authorization', 'x-api-key'];

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : Date.parse(value);
}

export function registerQueryRoutes(app: FastifyInstance, context: QueryContext): void {
  const grouping = context.compiled.grouping;
  const storeName = grouping?.store;
  const fields = grouping?.fields ?? [];
  const partitionKeyIndex = fields.indexOf(context.compiled.source.partitionKey);

  const handler = async (
    request: FastifyRequest<{
      Params: { app: string; store: string; key: string };
      Querystring: { from?: string; to?: string; allowStale?: string };
    }>,
    reply: FastifyReply,
  ) => {
    const { params, query } = request;
    if (params.app !== context.appId) {
      return problem(reply, 404, 'Unknown app', `this instance runs app ${context.appId}, not ${params.app}`);
    }
    if (!grouping || params.store !== storeName) {
      return problem(
        reply,
        404,
        'Unknown store',
        `app ${context.appId} has ${storeName ? `store ${storeName}` : 'no store'}, not ${params.store}`,
      );
    }
    let group: unknown[];
    try {
      const parsed = params.key.startsWith('[') ? JSON.parse(params.key) : [params.key];
      if (!Array.isArray(parsed) || parsed.length !== fields.length) throw new Error('wrong length');
      group = parsed;
    } catch {
      return problem(
        reply,
        400,
        'Bad key',
        `the key must be a JSON array of ${fields.length} value(s): [${fields.join(', ')}]`,
      );
    }
    const identity = context.identityOf?.(request);
    const tenant = String(group[partitionKeyIndex]);
    if (identity?.role === 'tenant' && identity.tenant !== tenant) {
      // said before any lookup, so the answer does not tell whether the key holds state
      return problem(
        reply,
        403,
        'Forbidden tenant',
        `key ${identity.keyId} belongs to tenant ${identity.tenant} and may read only its state`,
      );
    }
    const partition = partitionForKey(tenant, context.partitions);
    const allowStale = query.allowStale === 'true';
    const local = context.localStore(partition, allowStale);
    if (!local) {
      const owner = await context.ownerAddress(partition);
      if (!owner || owner === context.selfAddress() || request.headers[forwardedHeader]) {
        return problem(
          reply,
          503,
          'Owner unavailable',
          `no instance answers for partition ${partition} now; retry`,
        );
      }
      const caller = Object.fromEntries(
        identityHeaders.flatMap((name) => {
          const value = request.headers[name];
          return typeof value === 'string' ? [[name, value]] : [];
        }),
      );
      const response = await fetch(new URL(request.url, owner), {
        headers: { ...caller, [forwardedHeader]: '1' },
        signal: AbortSignal.timeout(5000),
      }).catch(() => undefined);
      if (!response)
        return problem(
          reply,
          503,
          'Owner unavailable',
          `the owner ${owner} of partition ${partition} did not answer`,
        );
      return reply
        .code(response.status)
        .type(response.headers.get('content-type') ?? 'application/json')
        .header('x-sluice-forwarded-to', owner)
        .send(Buffer.from(await response.arrayBuffer()));
    }
    const answer = await lookupGroup(local.store, grouping, group, {
      from: parseTime(query.from),
      to: parseTime(query.to),
    });
    if (!answer) {
      return problem(
        reply,
        404,
        'No state',
        `store ${storeName} holds nothing for key ${JSON.stringify(group)}`,
      );
    }
    return {
      app: context.appId,
      store: storeName,
      key: Object.fromEntries(fields.map((field, index) => [field, group[index]])),
      partition,
      servedBy: {
        address: context.selfAddress(),
        role: local.role,
        ...(local.lag ? { lagRecords: await local.lag() } : {}),
      },
      ...answer,
    };
  };

  app.get<{
    Params: { app: string; store: string; key: string };
    Querystring: { from?: string; to?: string; allowStale?: string };
  }>('/v1/apps/:app/stores/:store/keys/:key', handler);
  app.get<{
    Params: { app: string; store: string; key: string };
    Querystring: { from?: string; to?: string; allowStale?: string };
  }>('/v1/apps/:app/stores/:store/keys/:key/windows', handler);
}
