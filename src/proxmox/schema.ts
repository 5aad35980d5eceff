/**
 * What Proxmox VE's API answers (the `data` of `/api2/json` replies), as the client reads it.
 * Permissive: Proxmox adds fields between releases and leaves out the ones a row has no value for
 * (an offline node has only id/type/node/status), so unknown keys pass and most fields are
 * optional; only what the client cannot do without is required.
 */
import { z } from 'zod';

/** Proxmox's booleans are 0/1 integers; some older endpoints answer true/false. */
const ProxmoxBoolean = z.union([z.boolean(), z.number()]).transform((value) => Boolean(value));

/** A non-negative figure (bytes, cores, seconds); Proxmox may leave it out. */
const Amount = z.number().nonnegative().optional();

/** One row of `GET /cluster/resources?type=vm`. */
export const ClusterVmResource = z.looseObject({
  id: z.string().optional(),
  type: z.enum(['qemu', 'lxc']),
  vmid: z.coerce.number().int().positive(),
  node: z.string().min(1),
  name: z.string().optional(),
  status: z.string().optional(),
  template: ProxmoxBoolean.optional(),
  /** `;`-separated (Proxmox also accepts `,` and spaces on input). */
  tags: z.string().optional(),
  lock: z.string().optional(),
  maxcpu: Amount,
  maxmem: Amount,
  uptime: Amount,
});
export type ClusterVmResource = z.infer<typeof ClusterVmResource>;

/** One row of `GET /cluster/resources?type=node`. */
export const ClusterNodeResource = z.looseObject({
  type: z.literal('node'),
  node: z.string().min(1),
  status: z.string().optional(),
  maxcpu: Amount,
  /** Fraction of maxcpu in use, 0..1. */
  cpu: Amount,
  maxmem: Amount,
  mem: Amount,
});
export type ClusterNodeResource = z.infer<typeof ClusterNodeResource>;

/**
 * A row of `/cluster/resources` of any type; rows of other types (storage, sdn, pool …) are
 * skipped rather than refused, so a filter the server ignores does not break the read.
 */
export const ClusterResourceRow = z.looseObject({ type: z.string() });

export const VersionAnswer = z.looseObject({
  version: z.string().min(1),
  release: z.string().min(1),
});
export type VersionAnswer = z.infer<typeof VersionAnswer>;

/** `GET /cluster/nextid`: a string in the real API ("105"), a number in proxmox-api's typings. */
export const NextIdAnswer = z
  .union([z.string().regex(/^\d+$/), z.number().int()])
  .transform((value) => Number(value))
  .pipe(z.number().int().min(100));
export type NextIdAnswer = z.infer<typeof NextIdAnswer>;

/** Every long operation answers its task's UPID. */
export const UpidAnswer = z.string().startsWith('UPID:');
export type UpidAnswer = z.infer<typeof UpidAnswer>;

/**
 * `GET …/config`: a flat map. Values are strings or numbers; anything else (never seen) is kept
 * as its JSON text rather than refused.
 */
export const GuestConfigAnswer = z
  .record(z.string(), z.unknown())
  .transform((config) =>
    Object.fromEntries(
      Object.entries(config).map(([key, value]): [string, string | number] => [
        key,
        typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value),
      ]),
    ),
  );
export type GuestConfigAnswer = z.infer<typeof GuestConfigAnswer>;

/** `GET …/status/current`. */
export const GuestStatusAnswer = z.looseObject({
  status: z.string().min(1),
  uptime: Amount,
  lock: z.string().optional(),
});
export type GuestStatusAnswer = z.infer<typeof GuestStatusAnswer>;

/** `GET /nodes/{node}/tasks/{upid}/status`. */
export const TaskStatusAnswer = z.looseObject({
  /** 'running' | 'stopped'. */
  status: z.string().min(1),
  /** Set once stopped: 'OK', 'WARNINGS: <n>' or the error text. */
  exitstatus: z.string().optional(),
});
export type TaskStatusAnswer = z.infer<typeof TaskStatusAnswer>;

/** The body of a 400 answer: `{"data":null,"errors":{"<param>":"<why>"}}`. */
export const ParameterErrorsBody = z.object({
  errors: z.record(z.string(), z.unknown()),
});
export type ParameterErrorsBody = z.infer<typeof ParameterErrorsBody>;
