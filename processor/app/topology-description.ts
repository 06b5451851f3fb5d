/**
 * A compiled topology as people read it (`sluice describe`): text, Graphviz dot or Mermaid.
 * Shows sub-topologies, their inputs, operators, stores with changelogs, repartition and sink topics.
 */
import { describeNode, type GraphNode } from './graph.ts';
import type { Topology } from './topology.ts';

export type DescriptionFormat = 'text' | 'dot' | 'mermaid';

const partitionsOf = (repartition: Topology['repartitions'][number]) =>
  repartition.partitions === undefined
    ? "the input's partition count"
    : `${repartition.partitions} partitions`;

/** What a node adds to its label: the topics and stores it touches. */
function details(topology: Topology, node: GraphNode): string[] {
  const lines: string[] = [];
  if (node.kind === 'source') {
    const stream = topology.sources.find((each) => each.name === node.stream);
    if (stream) lines.push(`topic ${stream.topic}`);
  }
  if (node.kind === 'sink') {
    const stream = topology.sinks.find((each) => each.name === node.stream);
    if (stream) lines.push(`topic ${stream.topic}`);
  }
  const repartition = topology.repartitions.find((each) => each.reader === node.id);
  if (repartition) lines.push(`reads ${repartition.topic}, ${partitionsOf(repartition)}`);
  if (node.kind === 'join') {
    const table = topology.tables.find((each) => each.name === node.table);
    if (table) {
      const held = table.kind === 'global' ? 'every task holds all of it' : 'co-partitioned, per task';
      lines.push(`table topic ${table.topic}, ${held}`);
    }
  }
  for (const store of topology.stores.filter((each) => each.node === node.id))
    lines.push(`store ${store.name}, changelog ${store.changelogTopic}`);
  return lines;
}

function text(topology: Topology): string {
  const out = [
    `app ${topology.appId}: ${topology.subtopologies.length} sub-topolog${topology.subtopologies.length === 1 ? 'y' : 'ies'}`,
  ];
  for (const part of topology.subtopologies) {
    out.push('', `sub-topology ${part.id} (tasks ${part.id}_<partition>)`);
    out.push(`  inputs: ${part.inputs.map((input) => input.topic).join(', ')}`);
    for (const id of part.nodes) {
      const node = topology.nodes[id]!;
      const inputs = node.inputs.length > 0 ? ` ← ${node.inputs.join(', ')}` : '';
      const extra = details(topology, node);
      out.push(`  ${id}: ${describeNode(node)}${inputs}${extra.length > 0 ? `  [${extra.join('; ')}]` : ''}`);
    }
    if (part.stores.length > 0) out.push(`  stores: ${part.stores.join(', ')}`);
    const tables = topology.tables.filter((table) => table.joins.some((id) => part.nodes.includes(id)));
    if (tables.length > 0)
      out.push(
        `  tables: ${tables.map((table) => `${table.name} (${table.kind}, ${table.topic})`).join(', ')}`,
      );
    if (part.writes.length > 0) out.push(`  writes repartition: ${part.writes.join(', ')}`);
    if (part.sinks.length > 0) out.push(`  sinks: ${part.sinks.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

const quote = (value: string) => `"${value.replaceAll('"', '\\"')}"`;

function label(topology: Topology, node: GraphNode, newline: string): string {
  return [describeNode(node), ...details(topology, node)].join(newline);
}

/** Edges that cross sub-topologies go through a repartition topic: drawn dashed. */
function edges(topology: Topology): { from: number; to: number; crossing: boolean }[] {
  return topology.nodes.flatMap((node) =>
    node.inputs.map((input) => ({
      from: input,
      to: node.id,
      crossing: topology.subtopologyOf.get(input) !== topology.subtopologyOf.get(node.id),
    })),
  );
}

function dot(topology: Topology): string {
  const out = [`digraph ${quote(topology.appId)} {`, '  rankdir=LR;', '  node [shape=box];'];
  for (const part of topology.subtopologies) {
    out.push(`  subgraph cluster_${part.id} {`, `    label=${quote(`sub-topology ${part.id}`)};`);
    for (const id of part.nodes)
      out.push(`    n${id} [label=${quote(label(topology, topology.nodes[id]!, '\\n'))}];`);
    out.push('  }');
  }
  for (const edge of edges(topology)) {
    out.push(`  n${edge.from} -> n${edge.to}${edge.crossing ? ' [style=dashed, label="repartition"]' : ''};`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

function mermaid(topology: Topology): string {
  const out = ['flowchart LR'];
  for (const part of topology.subtopologies) {
    out.push(`  subgraph s${part.id}["sub-topology ${part.id}"]`);
    for (const id of part.nodes) {
      out.push(`    n${id}["${label(topology, topology.nodes[id]!, '<br/>').replaceAll('"', '#quot;')}"]`);
    }
    out.push('  end');
  }
  for (const edge of edges(topology))
    out.push(`  n${edge.from} ${edge.crossing ? '-. repartition .->' : '-->'} n${edge.to}`);
  return `${out.join('\n')}\n`;
}

export function describeTopology(topology: Topology, format: DescriptionFormat = 'text'): string {
  return format === 'dot' ? dot(topology) : format === 'mermaid' ? mermaid(topology) : text(topology);
}
