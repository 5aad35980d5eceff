/**
 * render/ — turns plans and facts into text people and tools read: Kubernetes objects and their
 * YAML, Proxmox VE guest specs and Terraform, and terminal tables. Pure: data in, objects and text
 * out. It imports no SDK beyond `yaml` and `kubernetes-models` (schema validation), never touches
 * the file system, the network or a cluster, and makes no sizing decision: every number it writes
 * comes from the plan, and what it adds on its own (probes, security context) says why in a comment.
 */
export {
  cpuQuantity,
  memoryQuantity,
  probeSource,
  reasonComment,
  reasonFor,
  renderKubernetes,
  renderKustomization,
  sourcesText,
  storageQuantity,
  validateKubernetesObject,
} from './kubernetes.js';
export type {
  Environment,
  ProbeAction,
  ProbeSource,
  RenderInput,
  RenderedFile,
  RenderedService,
} from './kubernetes.js';
export { hclString, renderProxmox } from './proxmox.js';
export type {
  ProxmoxLxcSpec,
  ProxmoxRenderInput,
  ProxmoxSpec,
  ProxmoxVmSpec,
  RenderedProxmox,
} from './proxmox.js';
export { formatRepoFacts, formatTable } from './repo-table.js';
