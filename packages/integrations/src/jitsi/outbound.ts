import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where a probe the caller points (a tenant admin's Jitsi URL) may connect: https only unless
 * `allowHttp`, and never to loopback, link-local, private or other non-public ranges unless a CIDR of
 * `allow` names the address. Checked on the resolved address at connect time, so a hostname that
 * resolves to 10.0.0.1 (or re-resolves there later) is refused like the literal.
 */
export interface OutboundPolicy {
  allowHttp: boolean;
  /** CIDRs that may be reached although not public, e.g. `127.0.0.1/32` for loopback stand-ins. */
  allow: readonly string[];
}

export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
  readonly code = 'EOUTBOUNDREFUSED';
}

/** ipaddr.js range names of addresses that are the public internet. */
const PUBLIC_RANGES = new Set(['unicast']);

export function addressAllowed(address: string, policy: OutboundPolicy): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  for (const cidr of policy.allow) {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    if (range.kind() === parsed.kind() && parsed.match([range, bits] as [typeof parsed, number])) return true;
  }
  return PUBLIC_RANGES.has(parsed.range());
}

/** Why `url` may not be probed at all (scheme, or a literal address), or undefined. */
export function refusalOf(url: URL, policy: OutboundPolicy): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) return 'only https is allowed';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !addressAllowed(host, policy)) return 'address not allowed';
  return undefined;
}

/** A `lookup` for http(s).request that refuses addresses the policy does not allow. */
export function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = addresses.filter((a) => addressAllowed(a.address, policy));
      if (allowed.length < addresses.length || allowed.length === 0) return callback(new OutboundRefused('address not allowed'), []);
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
