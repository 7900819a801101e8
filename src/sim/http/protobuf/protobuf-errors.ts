import { SimApiError } from '../../model/errors.ts';

/**
 * A request body in Kubernetes protobuf that cannot be decoded: no `k8s\0` magic, a truncated
 * or malformed message, an object of another kind, a value JSON cannot hold. Answered as the
 * API server answers undecodable bodies: 400 Bad Request with a Status whose message says what
 * is wrong (code SIM_BAD_REQUEST, like every 400 of the sim).
 */
export class ProtobufBodyError extends SimApiError {
  constructor(problem: string, options?: ErrorOptions) {
    super('BadRequest', problem, undefined, options);
  }
}
