/**
 * The flags that run `tcp-tuning webhook` on this machine for a test or a benchmark: HTTPS on
 * 127.0.0.1:port, registered with the apiserver by URL, its Secret in `namespace`, its configuration
 * named `configName`. Each caller adds its own (kubeconfig, TLS mode, metrics port...).
 */
export function localWebhookArgs(port: number, namespace: string, configName: string): string[] {
  return ["--url", `https://127.0.0.1:${port}/validate`, "--port", String(port), "--host", "127.0.0.1", "--namespace", namespace, "--config-name", configName];
}
