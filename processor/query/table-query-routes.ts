/**
 * Table queries: GET /v1/apps/{app}/tables/{table}/keys/{key}[?at=<time>] answers a table's row
 * under a key. A global table is answered by any instance from its in-memory copy (the latest
 * row). A partitioned table is answered by the task owning the key's partition (the table topic
 * is partitioned by the key as the producers put it), as of `at` (ms or ISO time; default: the
 * latest version), or forwarded to that partition's owner.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { partitionForKey } from '../../common/kafka/index.ts';
import { sendProcessorProblem as problem } from '../http-problem.ts';
import { forwardToOwner } from './owner-forwarding.ts';
import type { QueryContext } from './query-routes.ts';
import { refuseOtherTenant } from './tenant-access.ts';

/** Avro longs decode to bigint beyond 2^53: JSON gets them as numbers when exact, else as strings. */
function jsonSafe(row: unknown): unknown {
  return JSON.parse(
    JSON.stringify(row, (_key, value) =>
      typeof value === 'bigint'
        ? Number.isSafeInteger(Number(value))
          ? Number(value)
          : value.toString()
        : value,
    ),
  );
}

function parseAt(value: string | undefined): number | Error {
  // the latest version: any record timestamp is below this
  if (value === undefined) return Number.MAX_SAFE_INTEGER - 1;
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isSafeInteger(time) && time >= 0 ? time : new Error(`at=${value} is not a time`);
}

export function registerTableQueryRoutes(app: FastifyInstance, context: QueryContext): void {
  const tables = context.compiled.topology.tables;
  app.get(
    '/v1/apps/:app/tables/:table/keys/:key',
    async (
      request: FastifyRequest<{
        Params: { app: string; table: string; key: string };
        Querystring: { at?: string };
      }>,
      reply: FastifyReply,
    ) => {
      const { params, query } = request;
      if (params.app !== context.appId) {
        return problem(
          reply,
          404,
          'Unknown app',
          `this instance runs app ${context.appId}, not ${params.app}`,
        );
      }
      const plan = tables.find((table) => table.name === params.table);
      if (!plan) {
        return problem(
          reply,
          404,
          'Unknown table',
          `app ${context.appId} joins ${tables.length > 0 ? `table(s) ${tables.map((table) => table.name).join(', ')}` : 'no table'}, not ${params.table}`,
        );
      }
      const at = parseAt(query.at);
      if (at instanceof Error)
        return problem(reply, 400, 'Bad time', `${at.message}: give ms since the epoch or an ISO time`);
      const answer = (row: unknown, extra: Record<string, unknown>) =>
        row === undefined
          ? problem(reply, 404, 'No row', `table ${plan.name} has no row for key ${params.key}`)
          : {
              app: context.appId,
              table: plan.name,
              kind: plan.kind,
              key: params.key,
              ...extra,
              row: jsonSafe(row),
            };

      if (plan.kind === 'global') {
        const refused = refuseOtherTenant(
          reply,
          context.identityOf?.(request),
          undefined,
          `table ${plan.name}`,
        );
        if (refused) return refused;
        if (query.at !== undefined) {
          return problem(
            reply,
            400,
            'Bad time',
            `table ${plan.name} is global: it holds only the latest row, not versions`,
          );
        }
        const tables = context.globalTables;
        if (!tables) return problem(reply, 503, 'Table unavailable', `table ${plan.name} is not loaded here`);
        return answer(tables.table(plan.name).get(params.key), {
          servedBy: { address: context.selfAddress() },
        });
      }
      // a partitioned table is keyed by the stream's partition key: its key is the tenant
      const refused = refuseOtherTenant(
        reply,
        context.identityOf?.(request),
        params.key,
        `table ${plan.name}`,
      );
      if (refused) return refused;
      const partition = partitionForKey(params.key, context.partitions);
      const local = context.localTable?.(partition, plan.name);
      if (!local) return forwardToOwner(request, reply, partition, context);
      const [row] = await local.rowsAsOf([{ key: params.key, timestamp: at }]);
      if (row instanceof Error) {
        return problem(
          reply,
          502,
          'Undecodable row',
          `table ${plan.name}'s row for ${params.key}: ${row.message}`,
        );
      }
      return answer(row, {
        partition,
        ...(query.at !== undefined ? { at } : {}),
        servedBy: { address: context.selfAddress(), role: 'active' },
      });
    },
  );
}
