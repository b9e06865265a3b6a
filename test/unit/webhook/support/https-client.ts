import { request } from "node:https";

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly json: () => unknown;
}

/** One HTTPS request to the webhook, trusting only `ca`; no connection reuse, so every request does a TLS handshake. */
export function call(
  port: number,
  ca: string,
  options: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string | number> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "POST",
        path: options.path ?? "/validate",
        ca,
        agent: false,
        headers: { "content-type": "application/json", ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) as unknown });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}
