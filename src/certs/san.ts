import { isIP } from "node:net";
import { domainToASCII } from "node:url";

/** One label of a DNS name in its ASCII form (RFC 1123 host name label, LDH, at most 63 octets). */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The DNS name as a certificate must carry it: an IA5String, so a name with non-ASCII characters is
 * written as its IDNA A-label (`bücher.example` -> `xn--bcher-kva.example`, what TLS clients compare
 * against), lower-cased. A name that is no valid host name is refused, never written half-right.
 */
export function sanDnsName(name: string): string {
  const ascii = domainToASCII(name.trim());
  const labels = ascii.split(".");
  if (ascii === "" || ascii.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw new Error(`"${name}" is not a valid DNS name for a certificate (after IDNA conversion: "${ascii}")`);
  }
  return ascii;
}

/**
 * The IP address as a certificate must carry it, in a form every encoder reads the same: IPv4 as is,
 * IPv6 in its canonical text (WHATWG URL serialisation), so an IPv4-mapped IPv6 address such as
 * `::ffff:10.0.0.1` becomes `::ffff:a00:1` and is written as the 16-byte IPv6 address it is (RFC 5280
 * 4.2.1.6), which TLS clients match against both `::ffff:10.0.0.1` and, in Go, `10.0.0.1`.
 */
export function sanIpAddress(ip: string): string {
  const text = ip.trim().replace(/^\[|\]$/g, "");
  const family = isIP(text);
  if (family === 4) return text;
  if (family === 6) return new URL(`http://[${text}]/`).hostname.replace(/^\[|\]$/g, "");
  throw new Error(`"${ip}" is not an IP address`);
}
