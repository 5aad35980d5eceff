/**
 * apply/ — changing a real cluster after a human said yes: the approval gate (the latest
 * `/ai-provision approve|reject` decides) and the Proxmox VE create path (read-only dry run, create
 * task, rollback of a half-made guest that carries the bot's tag). It must not size anything or
 * render specs (agents/, render/), parse commands or record decisions (commands/, store/), or talk
 * to Proxmox other than through the ProxmoxClient port; it never touches a guest without the
 * `ai-provision` tag.
 */
export { applyGate } from './gate.js';
export type { ApplyGate } from './gate.js';
export {
  APPLY_TAG,
  applyProxmoxCreate,
  dryRunProxmoxCreate,
  guestKindOf,
  guestNameOf,
  proxmoxCreateParams,
} from './proxmox.js';
export type { AppliedProxmox, ApplyProxmoxOptions, DryRunCheck, ProxmoxDryRun } from './proxmox.js';
