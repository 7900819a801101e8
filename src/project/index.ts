export type { StateEffect, ProjectedUpdate, AuxChange, Projection } from './projection.ts';
export { emptyProjection, CLUSTER, nodeScopeName, objectKey } from './projection.ts';
export type { SourceKind, ProjectorStats, ProjectorOptions } from './projector.ts';
export { Projector, SOURCE_KINDS } from './projector.ts';
export type { PodImage, ContainerImage } from './pod-tracker.ts';
export { BadObjectError } from './k8s-fields.ts';
