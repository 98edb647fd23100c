// A lookup table of message fields and enum values built from the descriptors
// proto-loader attaches to each message definition, so resources can be
// checked field by field before encoding (protobufjs's fromObject silently
// drops unknown fields and coerces wrong types; a control plane must not).
import type { PackageDefinition } from '@grpc/proto-loader';

export type ScalarKind =
  | 'string' | 'bool' | 'bytes' | 'double' | 'float'
  | 'int32' | 'uint32' | 'int64' | 'uint64';

export interface FieldSchema {
  readonly name: string;
  readonly repeated: boolean;
  /** 'message' and 'enum' fields name their type in `typeName` (fully qualified, no leading dot). */
  readonly kind: ScalarKind | 'message' | 'enum';
  readonly typeName: string;
}

export interface MessageSchema {
  readonly fullName: string;
  readonly fields: ReadonlyMap<string, FieldSchema>;
  /** Set for the synthetic `XxxEntry` message of a `map<K, V>` field. */
  readonly mapEntry: boolean;
}

export interface EnumSchema {
  readonly fullName: string;
  readonly names: ReadonlySet<string>;
  readonly numbers: ReadonlySet<number>;
}

interface DescriptorField {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface DescriptorEnum {
  name: string;
  value: { name: string; number: number }[];
}
interface DescriptorMessage {
  name: string;
  field: DescriptorField[];
  nestedType?: DescriptorMessage[];
  enumType?: DescriptorEnum[];
  options?: { mapEntry?: boolean } | null;
}

const SCALAR_KINDS: Record<string, ScalarKind> = {
  TYPE_STRING: 'string', TYPE_BOOL: 'bool', TYPE_BYTES: 'bytes',
  TYPE_DOUBLE: 'double', TYPE_FLOAT: 'float',
  TYPE_INT32: 'int32', TYPE_SINT32: 'int32', TYPE_SFIXED32: 'int32',
  TYPE_UINT32: 'uint32', TYPE_FIXED32: 'uint32',
  TYPE_INT64: 'int64', TYPE_SINT64: 'int64', TYPE_SFIXED64: 'int64',
  TYPE_UINT64: 'uint64', TYPE_FIXED64: 'uint64',
};

export class ProtoSchema {
  private readonly messages = new Map<string, MessageSchema>();
  private readonly enums = new Map<string, EnumSchema>();
  /** Raw descriptors awaiting type-name resolution (done once, in the constructor). */
  private readonly pending = new Map<string, DescriptorMessage>();

  constructor(packageDefinition: PackageDefinition) {
    for (const [fullName, definition] of Object.entries(packageDefinition)) {
      if (!('format' in definition)) continue;
      if (definition.format === 'Protocol Buffer 3 DescriptorProto') {
        this.collectMessage(fullName, definition.type as DescriptorMessage);
      } else if (definition.format === 'Protocol Buffer 3 EnumDescriptorProto') {
        this.addEnum(fullName, definition.type as DescriptorEnum);
      }
    }
    for (const [fullName, descriptor] of this.pending) this.resolveMessage(fullName, descriptor);
    this.pending.clear();
  }

  message(fullName: string): MessageSchema | undefined {
    return this.messages.get(fullName);
  }

  enumType(fullName: string): EnumSchema | undefined {
    return this.enums.get(fullName);
  }

  private collectMessage(fullName: string, descriptor: DescriptorMessage): void {
    if (this.pending.has(fullName)) return;
    this.pending.set(fullName, descriptor);
    for (const nested of descriptor.nestedType ?? []) this.collectMessage(`${fullName}.${nested.name}`, nested);
    for (const nested of descriptor.enumType ?? []) this.addEnum(`${fullName}.${nested.name}`, nested);
  }

  private addEnum(fullName: string, descriptor: DescriptorEnum): void {
    if (this.enums.has(fullName)) return;
    this.enums.set(fullName, {
      fullName,
      names: new Set(descriptor.value.map((value) => value.name)),
      numbers: new Set(descriptor.value.map((value) => value.number)),
    });
  }

  private resolveMessage(fullName: string, descriptor: DescriptorMessage): void {
    const fields = new Map<string, FieldSchema>();
    for (const field of descriptor.field) {
      const repeated = field.label === 'LABEL_REPEATED';
      const scalar = SCALAR_KINDS[field.type];
      if (scalar !== undefined) {
        fields.set(field.name, { name: field.name, repeated, kind: scalar, typeName: '' });
        continue;
      }
      const kind = field.type === 'TYPE_ENUM' ? 'enum' : 'message';
      const typeName = this.resolveTypeName(fullName, field.typeName, kind);
      fields.set(field.name, { name: field.name, repeated, kind, typeName });
    }
    this.messages.set(fullName, { fullName, fields, mapEntry: descriptor.options?.mapEntry === true });
  }

  /**
   * Protobuf scoping: a relative name is looked up in the enclosing message,
   * then each enclosing package, innermost first.
   */
  private resolveTypeName(scope: string, typeName: string, kind: 'message' | 'enum'): string {
    if (typeName.startsWith('.')) return typeName.slice(1);
    const known = (name: string): boolean =>
      kind === 'enum' ? this.enums.has(name) : this.pending.has(name);
    let prefix = scope;
    for (let depth = 0; depth < 64 && prefix !== ''; depth++) {
      const candidate = `${prefix}.${typeName}`;
      if (known(candidate)) return candidate;
      const dot = prefix.lastIndexOf('.');
      prefix = dot === -1 ? '' : prefix.slice(0, dot);
    }
    return typeName; // top-level name, or a type that was not loaded (reported when a value uses it)
  }
}
