/**
 * Veriflow's TypeScript client: a thin, typed surface over the HTTP API on
 * the global fetch (Node 18+, browsers, Deno, Bun). The types come from
 * src/schema.ts, generated from api/openapi.json by openapi-typescript.
 */
import type { components, operations } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
/** A verification as the API shows it (destinations masked). */
export type Verification = Schemas["Verification"];
/** Body of POST /v1/verifications. */
export type StartRequest = Schemas["StartRequest"];
/** Body of POST /v1/verifications/{id}/check. */
export type CheckRequest = Schemas["CheckRequest"];
/** Body of POST /v1/verifications/{id}/resend (channel omitted: the plan's next). */
export type ResendRequest = Schemas["ResendRequest"];
/** RFC 9457 problem details as Veriflow sends them. */
export type Problem = Schemas["Problem"];
/** One invalid field of a problem. */
export type FieldError = Schemas["FieldError"];
/** Figures per channel (GET /v1/analytics/channels). */
export type ChannelAnalytics = Schemas["ChannelAnalytics"];
/** Attempts by channel × country × provider, priced (GET /v1/analytics/attempts). */
export type AttemptAnalytics = Schemas["AttemptAnalytics"];
/** The fraud engine's challenged and blocked verifications (GET /v1/risk/report). */
export type RiskReport = Schemas["RiskReport"];
/** The fraud engine's decision on a start (on every verification). */
export type Risk = Schemas["Risk"];
/** from, to (RFC 3339) and limit of a risk report call; all optional. */
export type RiskReportQuery = NonNullable<operations["riskReport"]["parameters"]["query"]>;
/** Messages the sandbox received (test-mode keys only). */
export type SandboxMessageList = Schemas["SandboxMessageList"];
/** from, to (RFC 3339) and kind of an analytics call; all optional. */
export type AnalyticsQuery = NonNullable<operations["channelAnalytics"]["parameters"]["query"]>;
/** to and limit of a sandbox messages call. */
export type SandboxQuery = NonNullable<operations["listSandboxMessages"]["parameters"]["query"]>;

/** Options of a Veriflow client. */
export interface VeriflowOptions {
  /** A fetch implementation; default the global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds; default 10 000, 0 for none. */
  timeoutMs?: number;
}

/** Options of start. */
export interface StartOptions {
  /**
   * The same key (per tenant) within 24 h returns the same verification
   * instead of starting another; the same key with another body is a 409
   * idempotency_conflict problem.
   */
  idempotencyKey?: string;
}

/** What start answers: the verification, and whether this call created it (201) or replayed it (200). */
export interface StartResult {
  verification: Verification;
  created: boolean;
}

/**
 * An error answer of the API (application/problem+json), or an answer that
 * is not one (then code is "unexpected_response").
 */
export class VeriflowProblem extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Stable machine-readable code: invalid_request, rate_limited, binding_mismatch, … */
  readonly code: string;
  /** Human-readable explanation, when given. */
  readonly detail: string | undefined;
  /** The invalid fields (invalid_request; some refusals); empty otherwise. */
  readonly errors: FieldError[];
  /** Seconds to wait before retrying, from Retry-After (or the problem's retry_after). */
  readonly retryAfter: number | undefined;
  /** On binding_mismatch: checks left after this failed check. */
  readonly checksLeft: number | undefined;
  /** The server's X-Request-Id for this call, for support. */
  readonly requestId: string | undefined;
  /** The problem as sent, when the body was one. */
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, retryAfter: number | undefined, requestId: string | undefined) {
    const code = problem?.code ?? "unexpected_response";
    super(`veriflow: ${status} ${code}${problem?.detail ? `: ${problem.detail}` : ""}`);
    this.name = "VeriflowProblem";
    this.status = status;
    this.code = code;
    this.detail = problem?.detail;
    this.errors = problem?.errors ?? [];
    this.retryAfter = retryAfter ?? problem?.retry_after;
    this.checksLeft = problem?.checks_left;
    this.requestId = requestId;
    this.problem = problem;
  }
}

/** retryAfterSeconds reads Retry-After: delta-seconds or an HTTP date. */
function retryAfterSeconds(h: string | null): number | undefined {
  if (h === null || h.trim() === "") return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim());
  const at = Date.parse(h);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function isProblem(v: unknown): v is Problem {
  return typeof v === "object" && v !== null && typeof (v as { code?: unknown }).code === "string" &&
    typeof (v as { status?: unknown }).status === "number";
}

/** The Veriflow API for one API key. */
export class Veriflow {
  readonly #base: string;
  readonly #key: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  /**
   * @param baseURL the API's URL, e.g. https://verify.example.com
   * @param apiKey a tenant API key (vf_test_… or vf_live_…)
   */
  constructor(baseURL: string, apiKey: string, options: VeriflowOptions = {}) {
    this.#base = baseURL.replace(/\/+$/, "");
    this.#key = apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Starts a verification (POST /v1/verifications). */
  async start(req: StartRequest, opts: StartOptions = {}): Promise<StartResult> {
    const headers: Record<string, string> = {};
    if (opts.idempotencyKey !== undefined) headers["Idempotency-Key"] = opts.idempotencyKey;
    const { body, status } = await this.#call<Verification>("POST", "/v1/verifications", req, headers);
    return { verification: body, created: status === 201 };
  }

  /**
   * Checks a code (POST /v1/verifications/{id}/check). A wrong code answers
   * the verification, still pending with fewer checks_left; a check that does
   * not repeat the transaction or document throws binding_mismatch.
   */
  async check(id: string, req: CheckRequest): Promise<Verification> {
    return (await this.#call<Verification>("POST", `/v1/verifications/${encodeURIComponent(id)}/check`, req)).body;
  }

  /** Sends the code again (POST /v1/verifications/{id}/resend); inside the cooldown it throws rate_limited with retryAfter. */
  async resend(id: string, req: ResendRequest = {}): Promise<Verification> {
    return (await this.#call<Verification>("POST", `/v1/verifications/${encodeURIComponent(id)}/resend`, req)).body;
  }

  /** Cancels a pending verification (POST /v1/verifications/{id}/cancel); canceling a canceled one answers it again. */
  async cancel(id: string): Promise<Verification> {
    return (await this.#call<Verification>("POST", `/v1/verifications/${encodeURIComponent(id)}/cancel`)).body;
  }

  /** Reads a verification (GET /v1/verifications/{id}). */
  async get(id: string): Promise<Verification> {
    return (await this.#call<Verification>("GET", `/v1/verifications/${encodeURIComponent(id)}`)).body;
  }

  /** Analytics calls: figures per channel, and attempts by channel × country × provider. */
  readonly analytics = {
    channels: async (q: AnalyticsQuery = {}): Promise<ChannelAnalytics> =>
      (await this.#call<ChannelAnalytics>("GET", "/v1/analytics/channels" + query(q))).body,
    attempts: async (q: AnalyticsQuery = {}): Promise<AttemptAnalytics> =>
      (await this.#call<AttemptAnalytics>("GET", "/v1/analytics/attempts" + query(q))).body,
  };

  /**
   * The fraud engine's challenged and blocked verifications of a period (in
   * shadow mode: what enforcement would have done), with each reason's key,
   * value and threshold.
   */
  async riskReport(q: RiskReportQuery = {}): Promise<RiskReport> {
    return (await this.#call<RiskReport>("GET", "/v1/risk/report" + query(q))).body;
  }

  /** Messages the sandbox received for test-mode keys: the only place a code is shown. */
  async sandboxMessages(q: SandboxQuery = {}): Promise<SandboxMessageList> {
    return (await this.#call<SandboxMessageList>("GET", "/v1/sandbox/messages" + query(q))).body;
  }

  async #call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ body: T; status: number }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.#key}`, Accept: "application/json", ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await this.#fetch(this.#base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: this.#timeoutMs > 0 ? AbortSignal.timeout(this.#timeoutMs) : undefined,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      throw new VeriflowProblem(res.status, isProblem(parsed) ? parsed : undefined,
        retryAfterSeconds(res.headers.get("Retry-After")), res.headers.get("X-Request-Id") ?? undefined);
    }
    if (parsed === undefined) {
      throw new VeriflowProblem(res.status, undefined, undefined, res.headers.get("X-Request-Id") ?? undefined);
    }
    return { body: parsed as T, status: res.status };
  }
}

/** query encodes the defined entries of q as a query string ("" when none). */
function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === "" ? "" : `?${s}`;
}
