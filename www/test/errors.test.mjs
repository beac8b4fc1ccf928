import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { explain, fieldErrors, loginError } from "../lib/errors.js";

const err = (code, status, message = "m", requestId = "rid-1") => ({ code, status, message, requestId });

/** The codes valv-client can reject with: its TypeScript union (checked against the Rust contract). */
function clientCodes() {
  const models = readFileSync(new URL("../../wasm-client/src/client.d.ts", import.meta.url), "utf8");
  const union = models.slice(models.indexOf("export type ValvErrorCode ="));
  return [...union.slice(0, union.indexOf(";")).matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
}

test("each broker and client code has a title, a sentence and an action", () => {
  const codes = clientCodes();
  assert.ok(codes.length >= 18 && codes.includes("sca_failed"), codes.join());
  for (const code of codes) {
    const e = explain(err(code, 0));
    assert.ok(e.title && e.detail, code);
    assert.notEqual(e.title, explain(err("a_code_nobody_has", 0)).title, `${code} has words of its own`);
    assert.equal(e.requestId, "rid-1", code);
  }
  assert.equal(explain(err("session_expired", 401)).action, "signin");
  assert.equal(explain(err("upstream_unavailable", 502)).action, "retry");
  assert.equal(explain(err("invalid_argument", 0)).action, "fix");
});

test("a bank error: limited, broken, or refused in the bank's own words", () => {
  assert.equal(explain(err("bank_error", 429)).title, "The bank is limiting requests");
  assert.equal(explain(err("bank_error", 503)).action, "retry");
  const refused = explain(err("bank_error", 400, "The debtor account is blocked"));
  assert.deepEqual([refused.title, refused.detail, refused.action], ["The bank refused this", "The debtor account is blocked", "fix"]);
  assert.equal(explain(err("bank_error", 400, "the bank refused the request")).detail, "SEB did not accept the request.");
});

test("anything else is still explained, never thrown", () => {
  assert.equal(explain(new TypeError("x is undefined")).title, "Something went wrong");
  assert.equal(explain(undefined).action, "retry");
});

test("valv-client's payment rule messages split into fields", () => {
  assert.deepEqual(
    fieldErrors("payment is invalid: creditorAccount.bgnr: not a Bankgiro number (e.g. 8080-1111); creditorAccountMessage: at most 12 characters"),
    [
      { path: "creditorAccount.bgnr", message: "not a Bankgiro number (e.g. 8080-1111)" },
      { path: "creditorAccountMessage", message: "at most 12 characters" },
    ],
  );
  assert.deepEqual(fieldErrors("accountId must not be empty"), []);
  assert.deepEqual(fieldErrors(undefined), []);
});

test("a login error code becomes a notice", () => {
  assert.match(loginError("access_denied").detail, /cancelled/);
  assert.match(loginError("something_new").detail, /something_new/);
});
