// kubemeta's main entry: the metadata service and its configuration, for embedding `serve`
// in another program. Consumers use `kubemeta/sdk`; tests use `kubemeta/testing`.
export { KubemetaError, isKubemetaError } from './core/index.ts';
export type { Logger } from './core/index.ts';
export type { ServeConfig, ServeOptions, ConfigSources } from './config/index.ts';
export { loadConfig, serveConfigSchema, ConfigError } from './config/index.ts';
export type { ServiceState, MetadataServiceDeps } from './service/index.ts';
export { MetadataService } from './service/index.ts';
