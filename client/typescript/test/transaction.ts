// An end-to-end run of the client against a live stack (test/e2e's
// TestTypeScriptClient compiles and runs it): a whole transaction
// verification, an idempotent replay, a resend inside the cooldown, a cancel
// both analytics calls and the risk report. Exits non-zero on the first failed assertion.
import { Veriflow, VeriflowProblem, type Verification } from "../src/index.js";

declare const process: { env: Record<string, string | undefined>; exitCode?: number };

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

async function expectProblem(p: Promise<unknown>, status: number, code: string): Promise<VeriflowProblem> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof VeriflowProblem, `a VeriflowProblem, got ${String(e)}`);
    assert(e.status === status && e.code === code, `problem ${status} ${code}, got ${e.status} ${e.code}: ${e.detail}`);
    return e;
  }
  throw new Error(`expected a ${status} ${code} problem, the call succeeded`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const vf = new Veriflow(env("VERIFLOW_URL"), env("VERIFLOW_KEY"));
  const phone = env("VERIFLOW_PHONE");
  const transaction = { amount: "149.90", currency: "EUR", payee: "ACME S.p.A." };
  const idem = `ts-${phone}`;

  // Start, then the same Idempotency-Key again: the same verification, replayed.
  const { verification: v, created } = await vf.start(
    { kind: "transaction", to: { phone }, transaction, metadata: { order: "o_1" } },
    { idempotencyKey: idem },
  );
  assert(created, "first start answers 201");
  assert(v.status === "pending" && v.kind === "transaction", `pending transaction, got ${v.status} ${v.kind}`);
  assert(v.to.phone !== undefined && v.to.phone !== phone && v.to.phone.includes("*"), `masked phone, got ${v.to.phone}`);
  assert(v.checks_left === 3, `3 checks, got ${v.checks_left}`);
  assert(v.risk?.decision === "allow" && Array.isArray(v.risk.reasons), `risk allow, got ${JSON.stringify(v.risk)}`);
  const replay = await vf.start({ kind: "transaction", to: { phone }, transaction, metadata: { order: "o_1" } }, { idempotencyKey: idem });
  assert(!replay.created && replay.verification.id === v.id, "a replay answers 200 with the same id");

  // Read the code in the sandbox (wait until the message is there).
  let code: string | undefined;
  for (let i = 0; i < 200 && code === undefined; i++) {
    const { messages } = await vf.sandboxMessages({ to: phone, limit: 10 });
    code = messages.find((m) => m.verification_id === v.id)?.code;
    if (code === undefined) await sleep(100);
  }
  assert(code !== undefined, "the sandbox received the code within 20 s");

  // A wrong code: still pending, one check fewer.
  const wrong = code === "000000" ? "111111" : "000000";
  const afterWrong: Verification = await vf.check(v.id, { code: wrong, transaction });
  assert(afterWrong.status === "pending" && afterWrong.checks_left === 2, `wrong code: pending, 2 left; got ${afterWrong.status} ${afterWrong.checks_left}`);

  // The right code for another payee: a typed binding_mismatch problem.
  const mismatch = await expectProblem(vf.check(v.id, { code, transaction: { ...transaction, payee: "Mallory Ltd" } }), 409, "binding_mismatch");
  assert(mismatch.checksLeft === 1, `binding_mismatch: 1 check left, got ${mismatch.checksLeft}`);
  assert(mismatch.requestId !== undefined, "the problem carries X-Request-Id");

  // A body the API refuses: invalid_request with errors[].
  const invalid = await expectProblem(vf.check(v.id, { code: "" }), 400, "invalid_request");
  assert(invalid.errors.length > 0 && invalid.errors.every((e) => typeof e.field === "string"), "invalid_request names its fields");

  // The right check approves; get agrees.
  const approved = await vf.check(v.id, { code, transaction });
  assert(approved.status === "approved" && approved.completed_at !== null, `approved, got ${approved.status}`);
  const got = await vf.get(v.id);
  assert(got.status === "approved" && got.id === v.id, `get: approved, got ${got.status}`);
  const again = await vf.check(v.id, { code: wrong, transaction });
  assert(again.status === "approved", `a check after the final status changes nothing, got ${again.status}`);

  // Resend inside the cooldown: rate_limited with Retry-After; then cancel.
  const other = (await vf.start({ kind: "signup", to: { phone } })).verification;
  let sent = false;
  for (let i = 0; i < 200 && !sent; i++) {
    sent = (await vf.get(other.id)).attempts.length > 0;
    if (!sent) await sleep(100);
  }
  assert(sent, "the signup's first attempt within 20 s");
  const limited = await expectProblem(vf.resend(other.id), 429, "rate_limited");
  assert(limited.retryAfter !== undefined && limited.retryAfter > 0 && limited.retryAfter <= 30, `retryAfter in (0, 30], got ${limited.retryAfter}`);
  const canceled = await vf.cancel(other.id);
  assert(canceled.status === "canceled", `cancel: canceled, got ${canceled.status}`);
  await expectProblem(vf.get("vf_doesnotexist"), 404, "not_found");

  // Analytics answer their typed shapes.
  const channels = await vf.analytics.channels({ kind: "transaction" });
  assert(Array.isArray(channels.channels) && channels.kind === "transaction", "channel analytics");
  const attempts = await vf.analytics.attempts();
  assert(Array.isArray(attempts.rows) && typeof attempts.totals.sent === "number", "attempt analytics");
  const risk = await vf.riskReport({ limit: 10 });
  assert(Array.isArray(risk.verifications) && (risk.mode === "enforce" || risk.mode === "shadow"), "risk report");

  console.log(`ok: ${v.id} approved, ${other.id} canceled`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exitCode = 1;
});
