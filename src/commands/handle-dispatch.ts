/**
 * `repository_dispatch` with event type `ai-provision`: a workflow (or `gh api`) asks for a sizing
 * with `client_payload.git_repo` / `app_description`. Sending a dispatch already needs write access
 * to the repository, so GitHub has authorised the sender; the repository config still decides
 * which other repositories may be sized. The answer is a pull request; a refusal is a failed
 * "ai-provision" check run on the branch head, where the workflow's author will look.
 */
import { loadRepoConfig, REPO_CONFIG_FILE } from '../config.js';
import { docsAnchor, type ErrorCode } from '../outcome.js';
import { DISPATCH_EVENT_TYPE, requestFromDispatch } from '../request/index.js';
import type { ScmClient } from '../scm/index.js';
import { repoAllowed, repoNameFromUrl, repoNotAllowed } from './authorize.js';
import type { CommandDeps, EventRepository } from './deps.js';
import { lockKeyFor, PROVISION_ROUTING, resolveTarget, submitJob } from './provision.js';
import { renderTemplate } from '../deliver/templates.js';

export interface DispatchEvent {
  deliveryId: string;
  installationId: number;
  repository: EventRepository;
  eventType: string;
  clientPayload: unknown;
  sender: { login: string; type: string };
}

export type DispatchHandling = 'other-event' | 'duplicate-delivery' | 'refused' | 'queued';

async function refuse(
  scm: ScmClient,
  event: DispatchEvent,
  deps: CommandDeps,
  code: ErrorCode,
  message: string,
): Promise<'refused'> {
  deps.log.info({ deliveryId: event.deliveryId, code }, 'dispatch refused');
  const head = await scm.getBranchHead(event.repository, event.repository.defaultBranch);
  if (head !== undefined) {
    const summary = renderTemplate('app-dispatch-refused', {
      message,
      docs: `${deps.settings.docsUrl}/${docsAnchor(code)}`,
    });
    const id = await scm.createCheckRun(event.repository, {
      name: 'ai-provision',
      headSha: head,
      status: 'in_progress',
      output: { title: 'Request refused', summary },
    });
    await scm.updateCheckRun(event.repository, id, {
      status: 'completed',
      conclusion: 'failure',
      output: { title: 'Request refused', summary },
    });
  }
  return 'refused';
}

export async function handleDispatch(
  event: DispatchEvent,
  deps: CommandDeps,
): Promise<DispatchHandling> {
  if (event.eventType !== DISPATCH_EVENT_TYPE) return 'other-event';
  if (!(await deps.store.markDelivery(event.deliveryId))) return 'duplicate-delivery';
  const { scm, settings } = deps;
  const parsed = requestFromDispatch(event.clientPayload, {
    allowedHosts: [settings.githubHost],
    origin: {
      kind: 'dispatch',
      requestedBy: event.sender.login,
      repository: `${event.repository.owner}/${event.repository.repo}`,
      eventId: event.deliveryId,
    },
  });
  if (parsed.kind === 'reply') return refuse(scm, event, deps, parsed.code, parsed.message);
  const loaded = loadRepoConfig(await scm.readFile(event.repository, REPO_CONFIG_FILE));
  if (loaded.kind === 'invalid') {
    return refuse(scm, event, deps, 'config-invalid', loaded.message);
  }
  const name = repoNameFromUrl(parsed.request.gitRepo, settings.githubHost);
  if (name !== undefined && !repoAllowed(name, event.repository, loaded.config.allowedRepos)) {
    const refusal = repoNotAllowed(name, event.repository);
    return refuse(scm, event, deps, refusal.code, refusal.userMessage);
  }
  const resolved = await resolveTarget(parsed.request, event.repository, scm, settings.githubHost);
  if (resolved.kind === 'refused') return refuse(scm, event, deps, resolved.code, resolved.message);
  const target = resolved.target;
  const lockKey = lockKeyFor(target, target.branch);
  const { created, job } = await deps.store.createJob({
    dedupeKey: `delivery:${event.deliveryId}`,
    request: parsed.request,
    lockKey,
    installationId: event.installationId,
    target,
    ...PROVISION_ROUTING,
  });
  if (!created) return 'duplicate-delivery';
  await deps.store.audit({
    at: new Date().toISOString(),
    actor: event.sender.login,
    action: 'provision.accepted',
    target: lockKey,
    jobId: job.id,
    detail: 'repository_dispatch',
  });
  await submitJob(deps.queue, job);
  return 'queued';
}
