// gRPC clients of the control plane's policy services (tests, the
// benchmark): isthmus.mixer.v1.Mixer (Check, Report) and Envoy's
// envoy.service.auth.v3.Authorization (Check), over @grpc/grpc-js with the
// same protos the server loads.
import { credentials, makeGenericClientConstructor, type Client, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { extAuthzServiceDefinition, mixerServiceDefinition } from './mixer-protos.js';
import { encodeAttributes, type PlainAttribute } from './attribute-message.js';

export interface Match {
  name: string;
  condition: string;
  map_key: string;
}

export interface MixerCheckAnswer {
  precondition: {
    status: { code?: number; message?: string };
    valid_duration?: { seconds?: number; nanos?: number };
    valid_use_count?: number;
    referenced_attributes?: { attribute_matches?: Match[] };
  };
  quotas?: Record<string, { granted_amount?: number; status?: { code?: number; message?: string }; valid_duration?: { seconds?: number; nanos?: number } }>;
}

type Unary = (request: unknown, callback: (err: ServiceError | null, response: unknown) => void) => void;

export class MixerClient {
  private readonly mixer: Client & Record<string, Unary>;
  private readonly authz: Client & Record<string, Unary>;

  /** takes the control plane's gRPC port on 127.0.0.1 and, for the TLS port, credentials trusting its root. */
  constructor(port: number, channelCredentials: ChannelCredentials = credentials.createInsecure()) {
    const Mixer = makeGenericClientConstructor(mixerServiceDefinition() as never, 'Mixer');
    const Authz = makeGenericClientConstructor(extAuthzServiceDefinition() as never, 'Authorization');
    this.mixer = new Mixer(`127.0.0.1:${port}`, channelCredentials) as Client & Record<string, Unary>;
    this.authz = new Authz(`127.0.0.1:${port}`, channelCredentials) as Client & Record<string, Unary>;
  }

  private call<T>(client: Client & Record<string, Unary>, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      client[method]!.call(client, request, (err, response) => (err === null ? resolve(response as T) : reject(err)));
    });
  }

  /** A Mixer Check with these attributes (and quotas: name -> amount). */
  check(attributes: Record<string, PlainAttribute>, quotas: Record<string, number> = {}, deduplicationId = ''): Promise<MixerCheckAnswer> {
    const q: Record<string, { amount: number }> = {};
    for (const [name, amount] of Object.entries(quotas)) q[name] = { amount };
    return this.call(this.mixer, 'Check', { attributes: encodeAttributes(attributes), quotas: q, deduplication_id: deduplicationId });
  }

  report(batch: readonly Record<string, PlainAttribute>[]): Promise<object> {
    return this.call(this.mixer, 'Report', { attributes: batch.map((a) => encodeAttributes(a)) });
  }

  /** An ext_authz Check with an AttributeContext. */
  extAuthz(context: object): Promise<{ status?: { code?: number; message?: string }; denied_response?: { status?: { code?: string | number }; body?: string }; ok_response?: object }> {
    return this.call(this.authz, 'Check', { attributes: context });
  }

  close(): void {
    this.mixer.close();
    this.authz.close();
  }
}

/** A sorted "name[key]:CONDITION" list of an answer's referenced attributes (easy to assert). */
export function referenced(answer: MixerCheckAnswer): string[] {
  return (answer.precondition.referenced_attributes?.attribute_matches ?? [])
    .map((m) => `${m.name}${m.map_key ? `[${m.map_key}]` : ''}:${m.condition}`)
    .sort();
}

export const durationMs = (d: { seconds?: number; nanos?: number } | undefined): number => (d === undefined ? 0 : Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6));
