import { KubemetaError } from '../core/index.ts';

export class ServiceError extends KubemetaError {}
