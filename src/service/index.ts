export type { ServiceState, MetadataServiceDeps, ServiceOverview } from './metadata-service.ts';
export { MetadataService } from './metadata-service.ts';
export { ServiceError, ServiceErrorCode } from './errors.ts';
export type { NatsCredentialConfig } from './nats-connect.ts';
export { natsOptions, natsCredentialOptions, connectNats, connectNatsWith, NatsConfigError, redactNatsUrl } from './nats-connect.ts';
export type { KindProgress } from './progress.ts';
