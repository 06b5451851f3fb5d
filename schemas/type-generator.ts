/**
 * TypeScript types from Avro schemas (`sluice schemas types`), so that an app's events are the
 * schema's and a schema change that breaks an app is a compile error. Each type is what the
 * processor's decoder (avsc, with schemas/exact-long.ts) hands the app:
 * records → interfaces, enums → unions of string literals, fixed and bytes → Buffer, arrays,
 * maps → Record<string, T>, logical types → their underlying type (sluice decodes none of them),
 * long → number (the processor sends a record with a long beyond ±(2^53−1) to the dead letters),
 * unions → plain unions where avsc keeps them unwrapped, `{ 'branch': value }` objects where it
 * wraps them (two branches of one JavaScript kind, e.g. two records, or int and double).
 */

export interface SchemaSource {
  /** Where the schema comes from, for the header and for errors. */
  file: string;
  schema: unknown;
}

type Json = Record<string, unknown>;

interface Named {
  fullName: string;
  /** The TypeScript declaration (with its doc comment). */
  declaration: string;
  /** The schema as written, to tell a repeated definition from a conflicting one. */
  definition: string;
  file: string;
}

const primitives: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

/**
 * avsc's union buckets: two branches in one bucket make it wrap the union (types.js
 * getTypeBucket). A long has a bucket of its own: sluice's exact long is an avsc abstract type.
 */
const bucketOf: Record<string, string> = {
  int: 'number',
  long: 'abstract:long',
  float: 'number',
  double: 'number',
  bytes: 'buffer',
  fixed: 'buffer',
  enum: 'string',
  string: 'string',
  map: 'object',
  record: 'object',
  error: 'object',
};

const shortName = (fullName: string) => fullName.slice(fullName.lastIndexOf('.') + 1);

function docComment(lines: string[], indent: string): string {
  const text = lines.filter((line) => line !== '');
  if (text.length === 0) return '';
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((line) => `${indent} * ${line}`).join('\n')}\n${indent} */\n`;
}

class Generator {
  readonly named = new Map<string, Named>();
  private file = '';
  private readonly sources: SchemaSource[];

  constructor(sources: SchemaSource[]) {
    this.sources = sources;
  }

  run(): string {
    for (const source of this.sources) {
      this.file = source.file;
      this.typeOf(source.schema, '');
    }
    this.checkShortNames();
    return [...this.named.values()].map((named) => named.declaration).join('\n');
  }

  private fail(message: string): never {
    throw new Error(`${this.file}: ${message}`);
  }

  private fullNameOf(schema: Json, namespace: string): string {
    const name = schema.name;
    if (typeof name !== 'string') this.fail(`a ${String(schema.type)} needs a name`);
    if (name.includes('.')) return name;
    const space = typeof schema.namespace === 'string' ? schema.namespace : namespace;
    return space ? `${space}.${name}` : name;
  }

  private resolveName(name: string, namespace: string): Named | undefined {
    return this.named.get(name) ?? (namespace ? this.named.get(`${namespace}.${name}`) : undefined);
  }

  /** The TypeScript type of a schema, declaring the named types it defines on the way. */
  private typeOf(schema: unknown, namespace: string): string {
    if (typeof schema === 'string') {
      if (schema in primitives) return primitives[schema]!;
      const named = this.resolveName(schema, namespace);
      if (!named) this.fail(`unknown type "${schema}" (named types must be defined before use)`);
      return shortName(named.fullName);
    }
    if (Array.isArray(schema)) return this.unionOf(schema, namespace);
    if (!schema || typeof schema !== 'object') this.fail(`not an Avro schema: ${JSON.stringify(schema)}`);
    const object = schema as Json;
    switch (object.type) {
      case 'record':
      case 'error':
        return this.record(object, namespace);
      case 'enum':
        return this.declareOnce(object, namespace, (name) => {
          const symbols = object.symbols as string[];
          if (!Array.isArray(symbols) || symbols.length === 0) this.fail(`enum ${name} needs symbols`);
          return `export type ${name} = ${symbols.map((symbol) => `'${symbol}'`).join(' | ')};\n`;
        });
      case 'fixed':
        return this.declareOnce(object, namespace, (name) => `export type ${name} = Buffer;\n`);
      case 'array':
        return `${this.parenthesized(this.typeOf(object.items, namespace))}[]`;
      case 'map':
        return `Record<string, ${this.typeOf(object.values, namespace)}>`;
      default:
        // a primitive written as an object, possibly with a logical type: its underlying type
        return this.typeOf(object.type, namespace);
    }
  }

  private parenthesized(type: string): string {
    return type.includes(' | ') ? `(${type})` : type;
  }

  private record(schema: Json, namespace: string): string {
    return this.declareOnce(schema, namespace, (name, fullName) => {
      const inner = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '';
      const fields = schema.fields as Json[];
      if (!Array.isArray(fields)) this.fail(`record ${name} needs fields`);
      const body = fields
        .map((field) => {
          const fieldSchema = field.type as Json | string;
          const logical =
            fieldSchema && typeof fieldSchema === 'object' && typeof fieldSchema.logicalType === 'string'
              ? `Avro logical type ${fieldSchema.logicalType} (decoded as its underlying type)`
              : '';
          const comment = docComment([typeof field.doc === 'string' ? field.doc : '', logical], '  ');
          return `${comment}  ${String(field.name)}: ${this.typeOf(fieldSchema, inner)};\n`;
        })
        .join('');
      return `export interface ${name} {\n${body}}\n`;
    });
  }

  /** Declares a named type once; a second, different definition of the same name is an error. */
  private declareOnce(
    schema: Json,
    namespace: string,
    render: (name: string, fullName: string) => string,
  ): string {
    const fullName = this.fullNameOf(schema, namespace);
    const definition = JSON.stringify(schema);
    const known = this.named.get(fullName);
    if (known) {
      if (known.definition !== definition)
        this.fail(`${fullName} is defined differently in ${known.file}: one name, one definition`);
      return shortName(fullName);
    }
    // registered before rendering, so that a record may refer to itself
    const entry: Named = { fullName, declaration: '', definition, file: this.file };
    this.named.set(fullName, entry);
    const doc = typeof schema.doc === 'string' ? schema.doc : '';
    entry.declaration = `${docComment([doc], '')}${render(shortName(fullName), fullName)}`;
    return shortName(fullName);
  }

  private unionOf(branches: unknown[], namespace: string): string {
    const types = branches.map((branch) => this.typeOf(branch, namespace));
    const kinds = branches.map((branch) => this.kindOf(branch, namespace));
    const buckets = kinds.map((kind) => bucketOf[kind.typeName] ?? kind.typeName);
    if (new Set(buckets).size === buckets.length) return [...new Set(types)].join(' | ');
    // avsc wraps an ambiguous union: each value is { '<branch name>': value }, null stays null
    return types
      .map((type, index) =>
        kinds[index]!.typeName === 'null' ? 'null' : `{ '${kinds[index]!.branchName}': ${type} }`,
      )
      .join(' | ');
  }

  /** The Avro type name of a union branch and the key avsc uses for it in a wrapped union. */
  private kindOf(branch: unknown, namespace: string): { typeName: string; branchName: string } {
    if (typeof branch === 'string') {
      if (branch in primitives) return { typeName: branch, branchName: branch };
      const named = this.resolveName(branch, namespace)!;
      const typeName = (JSON.parse(named.definition) as Json).type as string;
      return { typeName, branchName: named.fullName };
    }
    const object = branch as Json;
    const typeName = String(object.type);
    if (['record', 'error', 'enum', 'fixed'].includes(typeName))
      return { typeName, branchName: this.fullNameOf(object, namespace) };
    if (typeName in primitives || typeName === 'array' || typeName === 'map')
      return { typeName, branchName: typeName };
    return this.kindOf(object.type, namespace);
  }

  private checkShortNames(): void {
    const byShortName = new Map<string, string>();
    for (const { fullName } of this.named.values()) {
      const other = byShortName.get(shortName(fullName));
      if (other)
        throw new Error(
          `${other} and ${fullName} would both be the TypeScript type ${shortName(fullName)}: rename one`,
        );
      byShortName.set(shortName(fullName), fullName);
    }
  }
}

/** The TypeScript module for these schemas (named types in order of definition). */
export function generateTypes(sources: SchemaSource[]): string {
  const declarations = new Generator(sources).run();
  const header = [
    `// Generated by \`sluice schemas types\` from ${sources.map((source) => source.file).join(', ')}.`,
    '// Do not edit: change the schemas and run the command again (with --check it fails when stale).',
  ].join('\n');
  return `${header}\n\n${declarations}`;
}
