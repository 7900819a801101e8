/**
 * What happened to a Kubernetes object, as a watch event names it. One union for everyone who
 * passes object events along: the source's reflector, the projector and the sim's model.
 */
export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
