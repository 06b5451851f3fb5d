/**
 * State queries over HTTP: GET /v1/apps/{app}/stores/{store}/keys/{key}[/windows?from&to], for
 * every store of the app (each aggregation names one; `aggregates` when unnamed), and the tables'
 * rows (table-query-routes.ts). The key is the group's values as a JSON array (the bare value for
 * a one-field group; a JSON object for a key function). The owning partition is computed as the
 * records were partitioned (store-routing.ts); the owner answers from its committed state; any
 * other instance forwards to the owner found in the lease table; with ?allowStale=true a standby
 * answers from its own copy, with its lag.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../common/auth/key-store.ts';
import { partitionForKey } from '../../common/kafka/index.ts';
import type { CompiledApp } from '../app/compile.ts';
import { keyObject } from '../app/group-key.ts';
import { taskId } from '../app/topology.ts';
import { sendProcessorProblem as problem } from '../http-problem.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { GlobalTables } from '../tables/global-tables.ts';
import type { TableRows } from '../tables/partitioned-table.ts';
import { forwardToOwner } from './owner-forwarding.ts';
import { lookupGroup } from './state-lookup.ts';
import { type PartitionKey, routeStore } from './store-routing.ts';
import { registerTableQueryRoutes } from './table-query-routes.ts';
import { refuseOtherTenant } from './tenant-access.ts';

export interface QueryContext {
  appId: string;
  compiled: CompiledApp;
  /** The source's partition count. */
  partitions: number;
  /** A repartition topic's partition count. @default the source's */
  topicPartitions?(topic: string): number;
  /** This instance's store for the partition: as active, or (when stale answers are allowed) as standby. */
  localStore(
    partition: number,
    store: string,
    allowStale: boolean,
  ):
    | { store: KeyValueStore; role: 'active' | 'standby'; lag?: () => Promise<number | undefined> }
    | undefined;
  /** This instance's active task's partition of a partitioned table. */
  localTable?(partition: number, table: string): TableRows | undefined;
  /** The instance's global tables (every instance holds them whole). */
  globalTables?: GlobalTables;
  /** The HTTP address of the partition's owner (the slot's lease holder), when known. */
  ownerAddress(partition: number): Promise<string | undefined>;
  /** This instance's advertised address (known once it listens). */
  selfAddress(): string;
  /** The caller's identity when API keys are on (see http-auth.ts); a tenant key reads only its tenant. */
  identityOf?(request: FastifyRequest): Identity | undefined;
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : Date.parse(value);
}

export function registerQueryRoutes(app: FastifyInstance, context: QueryContext): void {
  const partitionOf = (key: PartitionKey) =>
    key.kind === 'source'
      ? partitionForKey(key.key, context.partitions)
      : partitionForKey(key.key, context.topicPartitions?.(key.topic) ?? context.partitions);
  const stores = context.compiled.stores.map((store) => store.name);

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
    const route = routeStore(context.compiled, params.store);
    if (!route) {
      const isTable = context.compiled.topology.tables.some((table) => table.name === params.store);
      return problem(
        reply,
        404,
        'Unknown store',
        `app ${context.appId} has ${stores.length > 0 ? `store(s) ${stores.join(', ')}` : 'no store'}, not ${params.store}` +
          (isTable
            ? `; ${params.store} is a table: GET /v1/apps/${context.appId}/tables/${params.store}/keys/{key}`
            : ''),
      );
    }
    const group = route.parseKey(params.key);
    if (group instanceof Error) {
      return problem(reply, 400, 'Bad key', `the key of store ${params.store} must be ${route.keyShape}`);
    }
    const refused = refuseOtherTenant(
      reply,
      context.identityOf?.(request),
      route.tenantOf(group),
      `store ${params.store}`,
    );
    if (refused) return refused;
    const partitionKey = route.partitionKey(group);
    if (partitionKey instanceof Error) return problem(reply, 400, 'Bad key', partitionKey.message);
    const partition = partitionOf(partitionKey);
    const local = context.localStore(partition, route.store.name, query.allowStale === 'true');
    if (!local) return forwardToOwner(request, reply, partition, context);
    const answer = await lookupGroup(local.store, route.grouping, group, {
      from: parseTime(query.from),
      to: parseTime(query.to),
    });
    if (!answer) {
      return problem(
        reply,
        404,
        'No state',
        `store ${params.store} holds nothing for key ${JSON.stringify(group)}`,
      );
    }
    return {
      app: context.appId,
      store: params.store,
      key: keyObject(route.grouping, group),
      partition,
      task: taskId(route.store.subtopology, partition),
      servedBy: {
        address: context.selfAddress(),
        role: local.role,
        ...(local.lag ? { lagRecords: await local.lag() } : {}),
      },
      ...answer,
    };
  };

  app.get('/v1/apps/:app/stores/:store/keys/:key', handler);
  app.get('/v1/apps/:app/stores/:store/keys/:key/windows', handler);
  registerTableQueryRoutes(app, context);
}
