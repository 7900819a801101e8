import { generate } from 'selfsigned';

/**
 * TLS material for the sim's optional HTTPS listener: a throwaway CA and a server certificate
 * it signed for 127.0.0.1 and localhost. Clients trust the CA (the kubeconfig carries it as
 * certificate-authority-data); Go clients (kubectl) need the SAN entries and a SHA-256
 * signature, and accept a leaf only when it chains to a CA, so the CA is a separate cert.
 */
export interface SimTlsMaterial {
  /** PEM of the CA certificate clients should trust. */
  readonly caPem: string;
  /** PEM of the server certificate. */
  readonly certPem: string;
  /** PEM of the server's private key. */
  readonly keyPem: string;
}

export interface SimTlsOptions {
  /** Extra DNS names or IP addresses the certificate is valid for (127.0.0.1 and localhost always are). */
  readonly hosts?: readonly string[];
  /** Validity in days (default 365). */
  readonly days?: number;
}

export async function generateSimTls(options: SimTlsOptions = {}): Promise<SimTlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.days ?? 365) * 86_400_000);
  const ca = await generate([{ name: 'commonName', value: 'kubemeta-sim-ca' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const hosts = [...new Set(['localhost', '127.0.0.1', ...(options.hosts ?? [])])];
  const server = await generate([{ name: 'commonName', value: 'kubemeta-sim' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => (isIp(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })) },
    ],
  });
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.private };
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
