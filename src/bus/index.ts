export type { CommittedUpdate, CommittedHistory, ScopePublisherOptions, PublisherStats } from './publisher.ts';
export { ScopePublisher } from './publisher.ts';
export { PublishError } from './errors.ts';
