/**
 * An http(s) base URL without trailing slashes, or an error naming the option: a relative or mistyped URL
 * would otherwise surface later as "unreachable", which reads like an outage and gets retried.
 */
export function checkedBaseUrl(option: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`${option}: expected an absolute http(s) URL like http://127.0.0.1:8080, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}
