/**
 * RepoFacts as plain-text tables for a terminal (`ai-provision analyze`). Pure: facts in, text out.
 */
import type { ExistingDeployment, RepoFacts, ResourceHints, ServiceFacts } from '../repo/schema.js';
import { bytes, cpuQuantityFromMillicores, memoryQuantityFromBytes, millicores } from '../units.js';

/** Left-aligned columns separated by two spaces; header underlined by the column widths. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function stackCell(s: ServiceFacts): string {
  const language = s.stack.language ?? s.stack.runtime?.name ?? '?';
  const version = s.stack.runtime?.version;
  return version === undefined ? language : `${language} ${version}`;
}

function hintsCell(h: ResourceHints): string[] {
  const out: string[] = [];
  if (h.jvmMaxHeapBytes !== undefined)
    out.push(`JVM -Xmx ${memoryQuantityFromBytes(bytes(h.jvmMaxHeapBytes))}`);
  if (h.jvmMaxRamPercentage !== undefined)
    out.push(`JVM MaxRAMPercentage ${h.jvmMaxRamPercentage}%`);
  if (h.nodeMaxOldSpaceBytes !== undefined)
    out.push(`Node max-old-space ${memoryQuantityFromBytes(bytes(h.nodeMaxOldSpaceBytes))}`);
  if (h.gomaxprocs !== undefined) out.push(`GOMAXPROCS ${h.gomaxprocs}`);
  if (h.goMemLimitBytes !== undefined)
    out.push(`GOMEMLIMIT ${memoryQuantityFromBytes(bytes(h.goMemLimitBytes))}`);
  if (h.workers !== undefined) {
    const parts = [
      h.workers.processes === undefined ? undefined : `${h.workers.processes} workers`,
      h.workers.threads === undefined ? undefined : `${h.workers.threads} threads`,
    ].filter((p) => p !== undefined);
    out.push(`${h.workers.server}${parts.length > 0 ? ` ${parts.join(', ')}` : ''}`);
  }
  return out;
}

function resourcesCell(d: ExistingDeployment, which: 'requests' | 'limits'): string {
  const parts = d.containers.flatMap((c) => {
    const r = c.resources?.[which];
    if (r === undefined) return [];
    const cpu = r.cpu === undefined ? '-' : cpuQuantityFromMillicores(millicores(r.cpu));
    const memory = r.memory === undefined ? '-' : memoryQuantityFromBytes(bytes(r.memory));
    return [`${cpu}/${memory}`];
  });
  return parts.length === 0 ? '-' : parts.join(' ');
}

export function formatRepoFacts(facts: RepoFacts): string {
  const sections: string[] = [];
  const commit = facts.commit === undefined ? '' : `, commit ${facts.commit.slice(0, 12)}`;
  sections.push(
    `${facts.source}${facts.ref === undefined ? '' : `@${facts.ref}`}${commit}: ${facts.stats.files} files, ` +
      `${facts.services.length} service${facts.services.length === 1 ? '' : 's'}, ` +
      `${facts.deployments.length} existing deployment${facts.deployments.length === 1 ? '' : 's'}`,
  );

  if (facts.services.length > 0) {
    sections.push(
      formatTable(
        ['SERVICE', 'PATH', 'SOURCE', 'STACK', 'FRAMEWORKS', 'IMAGE', 'PORTS', 'ENDPOINTS', 'DATA'],
        facts.services.map((s) => [
          s.name,
          s.path,
          s.source,
          stackCell(s),
          s.stack.frameworks.map((f) => f.name).join(', ') || '-',
          s.dockerfile?.finalImage?.raw ?? s.compose?.image ?? '-',
          (
            s.dockerfile?.expose.map((p) => String(p.port)) ??
            s.compose?.ports.map(String) ??
            []
          ).join(',') || '-',
          String(s.endpoints.length),
          [...new Set(s.dependencies.map((d) => d.kind))].join(', ') || '-',
        ]),
      ),
    );
  }

  const hintRows = facts.services.flatMap((s) => {
    const d = s.dockerfile;
    if (d === undefined) return [];
    const hints = hintsCell(d.hints);
    const meta = d.metadata;
    const metaText =
      meta === undefined
        ? []
        : [
            meta.expected_qps === undefined ? undefined : `expected_qps ${meta.expected_qps}`,
            meta.sla_latency_ms === undefined ? undefined : `sla_latency_ms ${meta.sla_latency_ms}`,
            meta.criticality === undefined ? undefined : `criticality ${meta.criticality}`,
          ].filter((x) => x !== undefined);
    const health =
      d.healthcheck === undefined ? 'none' : d.healthcheck.disabled ? 'disabled' : 'yes';
    return [
      [
        s.name,
        d.path,
        d.user ?? 'root (default)',
        health,
        [...hints, ...metaText].join('; ') || '-',
      ],
    ];
  });
  if (hintRows.length > 0) {
    sections.push(
      'Dockerfiles\n' +
        formatTable(
          ['SERVICE', 'DOCKERFILE', 'USER', 'HEALTHCHECK', 'HINTS AND METADATA'],
          hintRows,
        ),
    );
  }

  const endpointRows = facts.services.flatMap((s) =>
    s.endpoints.slice(0, 20).map((e) => [s.name, e.method, e.path, e.evidence]),
  );
  if (endpointRows.length > 0) {
    sections.push(
      'Endpoints (first 20 per service)\n' +
        formatTable(['SERVICE', 'METHOD', 'PATH', 'WHERE'], endpointRows),
    );
  }

  if (facts.deployments.length > 0) {
    sections.push(
      'Existing deployments\n' +
        formatTable(
          [
            'FILE',
            'SOURCE',
            'KIND',
            'NAME',
            'SERVICE',
            'REPLICAS',
            'REQUESTS cpu/mem',
            'LIMITS cpu/mem',
          ],
          facts.deployments.map((d) => [
            d.file,
            d.source,
            d.objectKind,
            d.name,
            d.service ?? '(unmatched)',
            d.replicas === undefined ? '-' : String(d.replicas),
            resourcesCell(d, 'requests'),
            resourcesCell(d, 'limits'),
          ]),
        ),
    );
  }

  if (facts.notes.length > 0) {
    sections.push(
      'Notes\n' +
        facts.notes
          .map((n) => `  [${n.code}]${n.path === undefined ? '' : ` ${n.path}:`} ${n.message}`)
          .join('\n'),
    );
  }
  return sections.join('\n\n') + '\n';
}
