export type { ConfigProblem } from './errors.ts';
export { ConfigError } from './errors.ts';
export type { ConfigSources } from './load.ts';
export { loadConfig, envName, deepFreeze } from './load.ts';
export type { SimConfig, SimOptions } from './sim-config.ts';
export { simConfigSchema } from './sim-config.ts';
export type { ServeConfig, ServeOptions, StoreSpec } from './serve-config.ts';
export { serveConfigSchema } from './serve-config.ts';
export { natsCredentialsShape, checkNatsCredentials } from './nats-credentials.ts';
