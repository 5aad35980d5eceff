/**
 * The pull request a plan becomes: its branch name, title, body, commit message and labels. The
 * body is what a reviewer reads first: who asked and what they asked, the numbers per service, the
 * reason and source of each number, a chart, what to check, and the full report folded away. Pure.
 */
import type { PlanDocument, PlannedService } from '../render/plan-document.js';
import type { TreeFile } from '../scm/index.js';
import { bytesFromMemoryQuantity, millicoresFromCpuQuantity } from '../units.js';
import {
  GITHUB_BODY_LIMIT,
  escapeInline,
  fitBody,
  inlineCode,
  neutraliseOutsideCode,
  quoteUserText,
  tableCell,
} from './fit.js';
import { renderTemplate } from './templates.js';

export interface PullRequestContent {
  title: string;
  body: string;
  commitMessage: string;
  branch: string;
  labels: string[];
  /** Extra files to commit, e.g. the full report when the body could not hold it. */
  extraFiles: TreeFile[];
}

export interface PullRequestContentInput {
  document: PlanDocument;
  /** Full markdown report from renderReport. */
  report: string;
  request: {
    gitRepo: string;
    appDescription: string;
    requestedBy: string;
    environment?: string;
    target: string;
  };
  /** Where to write the full report when it does not fit: default `${outputRoot}/ai-provision-report.md`. */
  reportPath: string;
  jobId: string;
  /** "Requested in owner/repo#n" */
  thread?: { owner: string; repo: string; issueNumber: number };
}

/** The first line of every body we write, so a later run finds and updates its own PR. */
export const PR_MARKER = '<!-- ai-provision:pr -->';
/** The label every ai-provision pull request carries. */
export const PR_LABEL = 'ai-provision';

const SLUG_MAX = 60;
const ENVIRONMENT_SLUG_MAX = 20;
/** More bars than this make an unreadable chart: the largest are shown. */
const CHART_MAX_SERVICES = 25;
const CHART_LABEL_MAX = 30;
const TITLE_NAME_MAX = 100;
/** How many service names a "what to check" item lists before "and N more". */
const CHECK_NAMES_MAX = 5;
/** Stands for the report while templates are filled, so the report reaches the body byte for byte. */
const REPORT_SLOT = '\u0000report\u0000';

function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Branch `ai-provision/<slug>`: the single service name, else the repository name (+ "-<env>" when an environment was asked); slug [a-z0-9-], ≤ 60 chars. */
export function pullRequestBranch(input: {
  serviceNames: string[];
  repoName: string;
  environment?: string;
}): string {
  const single = input.serviceNames.length === 1 ? slugify(input.serviceNames[0]!) : '';
  const base = single || slugify(input.repoName) || 'plan';
  const suffix = slugify(input.environment ?? '')
    .slice(0, ENVIRONMENT_SLUG_MAX)
    .replace(/-+$/, '');
  const room = suffix === '' ? SLUG_MAX : SLUG_MAX - suffix.length - 1;
  const head = base.slice(0, room).replace(/-+$/, '') || 'plan';
  return `ai-provision/${suffix === '' ? head : `${head}-${suffix}`}`;
}

/** The numbers of one service as short strings, shared by the table, the commit and the status comment. */
export interface ServiceFigures {
  cpu: string;
  memory: string;
  replicas: string;
  confidence: string;
  cost: string;
}

const usd = (x: number): string => `$${x.toFixed(2)}`;

export function serviceFigures(service: PlannedService): ServiceFigures {
  const { requests, limits } = service.resources;
  const noLimit = renderTemplate('pr-no-limit', {});
  const scaling = service.autoscaling;
  return {
    cpu: `${requests.cpu} / ${limits.cpu ?? noLimit}`,
    memory: `${requests.memory} / ${limits.memory ?? noLimit}`,
    replicas:
      scaling === undefined
        ? String(service.replicas)
        : `${scaling.minReplicas}–${scaling.maxReplicas}`,
    confidence: service.confidence.toFixed(2),
    cost:
      service.cost.monthlyAtMaxUsd > service.cost.monthlyUsd
        ? `${usd(service.cost.monthlyUsd)}–${usd(service.cost.monthlyAtMaxUsd)}`
        : usd(service.cost.monthlyUsd),
  };
}

function subject(document: PlanDocument): string {
  const only = document.services.length === 1 ? document.services[0] : undefined;
  if (only !== undefined) return only.name.replace(/\s+/g, ' ').trim().slice(0, TITLE_NAME_MAX);
  return renderTemplate('pr-subject-services', { count: String(document.services.length) });
}

/** https://host/owner/repo(.git) → its web address; undefined for anything else (local paths). */
function repositoryWebUrl(gitRepo: string): string | undefined {
  const match = /^https:\/\/(?<host>[^/\s?#@]+)\/(?<path>[^\s?#]+?)(?:\.git)?\/?$/.exec(
    gitRepo.trim(),
  );
  if (!match?.groups) return undefined;
  return `https://${match.groups.host}/${match.groups.path}`;
}

function safeUrl(url: string): string {
  return url.replace(/[\s()<>]/g, (c) => encodeURIComponent(c));
}

/** The repository as a link named owner/repo, or as code when it is not a web URL. */
export function repositoryLink(gitRepo: string): string {
  const web = repositoryWebUrl(gitRepo);
  if (web === undefined) return inlineCode(gitRepo);
  return `[${escapeInline(new URL(web).pathname.slice(1))}](${safeUrl(web)})`;
}

/** Knowledge entry id → URL, as the report links `knowledge:<id>` sources. */
function reportLinks(report: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const m of report.matchAll(
    /\[(?<id>[a-z0-9][a-z0-9._-]*)\]\((?<url>https?:\/\/[^\s)]+)\)/g,
  )) {
    if (!links.has(m.groups!.id!)) links.set(m.groups!.id!, m.groups!.url!);
  }
  return links;
}

function sourceText(source: string, links: ReadonlyMap<string, string>): string {
  if (source === 'description') return renderTemplate('pr-source-description', {});
  if (source.startsWith('knowledge:')) {
    const id = source.slice('knowledge:'.length);
    const url = links.get(id);
    return url === undefined ? inlineCode(id) : `[${escapeInline(id)}](${safeUrl(url)})`;
  }
  if (source.startsWith('repo:')) return inlineCode(source.slice('repo:'.length));
  if (/^https?:\/\/\S+$/.test(source)) return `<${safeUrl(source)}>`;
  return inlineCode(source);
}

function serviceLabel(service: PlannedService): string {
  return `${escapeInline(service.name)} (${inlineCode(service.path)})`;
}

function sizingTable(document: PlanDocument): string {
  const rows = document.services.map((s) => {
    const f = serviceFigures(s);
    return `| ${tableCell(serviceLabel(s))} | ${f.cpu} | ${f.memory} | ${f.replicas} | ${f.confidence} | ${f.cost} |`;
  });
  const total = document.services.reduce((sum, s) => sum + s.cost.monthlyUsd, 0);
  const totalAtMax = document.services.reduce((sum, s) => sum + s.cost.monthlyAtMaxUsd, 0);
  const proxmox = document.services.filter((s) => s.proxmox !== undefined);
  const proxmoxTable =
    proxmox.length === 0
      ? ''
      : renderTemplate('pr-table-proxmox', {
          rows: proxmox
            .map((s) => {
              const p = s.proxmox!;
              return `| ${tableCell(serviceLabel(s))} | ${p.kind} | ${p.cores} | ${p.memory} | ${p.balloon ?? '—'} | ${p.disk} |`;
            })
            .join('\n'),
        });
  return renderTemplate('pr-table', {
    rows: rows.join('\n'),
    total: usd(total),
    totalAtMax: usd(totalAtMax),
    proxmox: proxmoxTable,
  });
}

function reasonsSection(document: PlanDocument, links: ReadonlyMap<string, string>): string {
  return document.services
    .map((s) => {
      const rows = s.reasoning.map((step) => {
        const sources = [...new Set(step.sources)].map((src) => sourceText(src, links));
        return `| ${tableCell(escapeInline(step.field))} | ${tableCell(escapeInline(step.value))} | ${tableCell(escapeInline(step.reason))} | ${sources.length === 0 ? '—' : tableCell(sources.join(', '))} |`;
      });
      const findings = [
        ...s.policy.map(
          (f) => `- ${f.severity === 'error' ? '⛔' : '⚠️'} ${escapeInline(f.message)}`,
        ),
        ...(s.validation.ok ? [] : s.validation.errors.map((e) => `- ⛔ ${escapeInline(e)}`)),
      ];
      return renderTemplate('pr-reasons-service', {
        service: serviceLabel(s),
        rows: rows.join('\n'),
        cpuBounds: `${s.bounds.cpu.lower}–${s.bounds.cpu.upper}`,
        memoryBounds: `${s.bounds.memory.lower}–${s.bounds.memory.upper}`,
        findings: findings.join('\n'),
      });
    })
    .join('\n\n');
}

/** `- [ ] …` items of each service's "What to check" in the report, each with the services it is for. */
function reportChecks(report: string): Map<string, string[]> {
  const checks = new Map<string, string[]>();
  let service: string | undefined;
  let inChecks = false;
  let fenced = false;
  for (const line of report.split('\n')) {
    if (/^ {0,3}(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^## (?<name>.+?)(?: \(`[^`]*`\))?\s*$/.exec(line);
    if (heading) {
      service = heading.groups!.name!;
      inChecks = false;
    } else if (line.trim() === '**What to check**') {
      inChecks = true;
    } else if (inChecks) {
      const item = /^- \[ \] (?<text>.+)$/.exec(line);
      if (item) {
        const text = item.groups!.text!.trim();
        const list = checks.get(text) ?? [];
        if (service !== undefined && !list.includes(service)) list.push(service);
        checks.set(text, list);
      } else if (line.trim() !== '') {
        inChecks = false;
      }
    }
  }
  return checks;
}

function namesList(names: readonly string[]): string {
  const shown = names.slice(0, CHECK_NAMES_MAX).map((n) => escapeInline(n));
  if (names.length > CHECK_NAMES_MAX) {
    shown.push(renderTemplate('pr-more', { count: String(names.length - CHECK_NAMES_MAX) }));
  }
  return shown.join(', ');
}

function checksSection(document: PlanDocument, report: string): string {
  const items = [
    ...document.warnings.map((w) => `- ⚠️ ${neutraliseOutsideCode(w.replace(/\s*\n\s*/g, ' '))}`),
    ...[...reportChecks(report)].map(([text, services]) => {
      const check = neutraliseOutsideCode(text);
      return services.length === 0 ? `- [ ] ${check}` : `- [ ] ${check} (${namesList(services)})`;
    }),
  ];
  return items.length === 0 ? renderTemplate('pr-checks-none', {}) : items.join('\n');
}

/** A name as a quoted mermaid string: no quote, `%%`, `#`, `;` or line break can end it early. */
function mermaidLabel(name: string): string {
  const clean = name
    .replace(/[^\p{L}\p{N} ._/()+:-]/gu, '_')
    .replace(/\s+/g, ' ')
    .trim();
  const short = clean.length > CHART_LABEL_MAX ? `${clean.slice(0, CHART_LABEL_MAX - 1)}…` : clean;
  return short === '' ? '_' : short;
}

/** An axis maximum a little above `x`, on a round scale (…, 1000, 1200, 1500, 2000, 2500, …). */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const target = x * 1.05;
  const power = 10 ** Math.floor(Math.log10(target));
  const factor = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((f) => f * power >= target) ?? 10;
  return Math.round(factor * power * 1000) / 1000;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The mermaid block alone (exported for tests). */
export function sizingChart(document: PlanDocument): string {
  const all = document.services.map((s, index) => ({
    index,
    name: s.name,
    cpu: millicoresFromCpuQuantity(s.resources.requests.cpu) ?? 0,
    memory: round1((bytesFromMemoryQuantity(s.resources.requests.memory) ?? 0) / 2 ** 20),
  }));
  if (all.length === 0) return renderTemplate('pr-chart-none', {});
  const shown =
    all.length <= CHART_MAX_SERVICES
      ? all
      : [...all]
          .sort((a, b) => b.cpu - a.cpu || b.memory - a.memory || a.index - b.index)
          .slice(0, CHART_MAX_SERVICES)
          .sort((a, b) => a.index - b.index);
  // A band axis merges equal labels, so repeated names are numbered.
  const seen = new Map<string, number>();
  const labels = shown.map((s) => {
    const label = mermaidLabel(s.name);
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return `"${count === 1 ? label : `${label} (${count})`}"`;
  });
  return renderTemplate('pr-chart', {
    orientation: shown.length > 8 ? 'horizontal' : 'vertical',
    labels: labels.join(', '),
    cpu: shown.map((s) => String(s.cpu)).join(', '),
    cpuMax: String(niceMax(Math.max(...shown.map((s) => s.cpu)))),
    memory: shown.map((s) => String(s.memory)).join(', '),
    memoryMax: String(niceMax(Math.max(...shown.map((s) => s.memory)))),
    note:
      shown.length === all.length
        ? ''
        : renderTemplate('pr-chart-subset', {
            shown: String(shown.length),
            total: String(all.length),
          }),
  });
}

function headerParagraph(input: PullRequestContentInput): string {
  const { request, document, thread } = input;
  const threadText =
    thread === undefined
      ? ''
      : ` ${renderTemplate('pr-header-thread', {
          thread: `${thread.owner}/${thread.repo}#${thread.issueNumber}`,
        })}`;
  const environment =
    request.environment === undefined
      ? ''
      : `, ${renderTemplate('pr-header-environment', { environment: inlineCode(request.environment) })}`;
  const commit =
    document.commit === undefined
      ? ''
      : ` ${renderTemplate('pr-header-commit', { commit: inlineCode(document.commit.slice(0, 12)) })}`;
  const what =
    document.services.length === 1
      ? escapeInline(document.services[0]!.name)
      : renderTemplate('pr-subject-services', { count: String(document.services.length) });
  return renderTemplate('pr-header', {
    requestedBy: inlineCode(request.requestedBy),
    thread: threadText,
    subject: what,
    repository: repositoryLink(request.gitRepo),
    target: inlineCode(request.target),
    environment,
    reasoner: inlineCode(document.reasoner),
    commit,
    description: quoteUserText(request.appDescription),
  });
}

function footer(input: PullRequestContentInput): string {
  const jobId = inlineCode(input.jobId);
  if (input.thread === undefined) return renderTemplate('pr-footer-no-thread', { jobId });
  const { owner, repo, issueNumber } = input.thread;
  return renderTemplate('pr-footer', { jobId, thread: `${owner}/${repo}#${issueNumber}` });
}

/** The repository's name for the branch: the last part of its URL or path. */
function repositoryName(gitRepo: string): string {
  const web = repositoryWebUrl(gitRepo);
  const parts = (web ?? gitRepo).split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  return parts.at(-1) ?? '';
}

function reportFileUrl(gitRepo: string, branch: string, path: string): string | undefined {
  const web = repositoryWebUrl(gitRepo);
  if (web === undefined) return undefined;
  const file = path.replace(/^(?:\.\/|\/)+/, '');
  return safeUrl(`${web}/blob/${encodeURI(branch)}/${encodeURI(file)}`);
}

/** PR title, body (header, per-service table: cpu/memory requests & limits, replicas/HPA, confidence, $/month — each with reason+source links from the report, a mermaid xychart of the sizing, "What to check", the report collapsed in <details>, a footer with job id and how to re-run/approve), always ≤ GITHUB_BODY_LIMIT: when even the collapsed body does not fit, the body links the committed report file and `extraFiles` carries it. */
export function pullRequestContent(input: PullRequestContentInput): PullRequestContent {
  const { document, report, request } = input;
  const branch = pullRequestBranch({
    serviceNames: document.services.map((s) => s.name),
    repoName: repositoryName(request.gitRepo),
    ...(request.environment === undefined ? {} : { environment: request.environment }),
  });
  const what = subject(document);
  const title =
    request.environment === undefined
      ? renderTemplate('pr-title', { subject: what })
      : renderTemplate('pr-title-environment', { subject: what, environment: request.environment });

  const main = `${PR_MARKER}\n${renderTemplate('pr-body', {
    header: headerParagraph(input),
    table: sizingTable(document),
    reasons: reasonsSection(document, reportLinks(report)),
    chart: sizingChart(document),
    checks: checksSection(document, report),
    report: REPORT_SLOT,
  })}`;
  const end = footer(input);
  // The slot is in the last section, after every text that came from elsewhere.
  const slot = main.lastIndexOf(REPORT_SLOT);
  const withReport = (block: string): string =>
    `${main.slice(0, slot)}${block}${main.slice(slot + REPORT_SLOT.length)}`;

  const inline = `${withReport(
    renderTemplate('pr-report-inline', { report: REPORT_SLOT }).replace(REPORT_SLOT, () =>
      neutraliseOutsideCode(report.trimEnd()),
    ),
  )}\n\n${end}`;
  let body = inline;
  const extraFiles: TreeFile[] = [];
  if (inline.length > GITHUB_BODY_LIMIT) {
    const url = reportFileUrl(request.gitRepo, branch, input.reportPath);
    const link =
      url === undefined
        ? inlineCode(input.reportPath)
        : `[${escapeInline(input.reportPath)}](${url})`;
    const room = GITHUB_BODY_LIMIT - end.length - 2;
    const fitted = fitBody(
      withReport(renderTemplate('pr-report-file', { link })),
      room,
      renderTemplate('pr-truncated-see-report', {
        limit: GITHUB_BODY_LIMIT.toLocaleString('en-US'),
        link,
      }),
    );
    body = `${fitted.body}\n\n${end}`;
    extraFiles.push({ path: input.reportPath, content: report });
  }

  const commitSubject =
    request.environment === undefined
      ? renderTemplate('pr-commit-subject', { subject: what })
      : renderTemplate('pr-commit-subject-environment', {
          subject: what,
          environment: request.environment,
        });
  const commitMessage = renderTemplate('pr-commit-message', {
    subject: commitSubject,
    services: document.services
      .map((s) =>
        renderTemplate('pr-commit-service', {
          name: s.name.replace(/\s+/g, ' '),
          ...serviceFigures(s),
        }),
      )
      .join('\n'),
  });

  return {
    title,
    body,
    commitMessage,
    branch,
    labels:
      request.environment === undefined ? [PR_LABEL] : [PR_LABEL, `env:${request.environment}`],
    extraFiles,
  };
}
