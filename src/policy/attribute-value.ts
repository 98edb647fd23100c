// The value types of Istio's attribute vocabulary, and how each is held in
// memory on both sides (proxy: an attribute bag built lazily per request;
// control plane: decoded from a Check/Report message).
//   STRING, IP_ADDRESS (text form, '10.1.2.3' / '::1')      -> string
//   INT64 (a count, a port, a size)                          -> number
//   DOUBLE                                                   -> number
//   BOOL                                                     -> boolean
//   TIMESTAMP (milliseconds since the epoch)                 -> number
//   DURATION (milliseconds)                                  -> number
//   BYTES                                                    -> Uint8Array
//   STRING_MAP (request.headers, source.labels: lowercase header names) -> StringMap
export const ValueType = {
  STRING: 'STRING',
  INT64: 'INT64',
  DOUBLE: 'DOUBLE',
  BOOL: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DURATION: 'DURATION',
  IP_ADDRESS: 'IP_ADDRESS',
  BYTES: 'BYTES',
  STRING_MAP: 'STRING_MAP',
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** A string map attribute: own keys only (made with Object.create(null)). */
export type StringMap = Readonly<Record<string, string>>;

export type AttributeValue = string | number | boolean | Uint8Array | StringMap;

/** Where expressions read attributes: absent attributes are undefined. The proxy computes each on first read. */
export interface AttributeBag {
  get(name: string): AttributeValue | undefined;
}
