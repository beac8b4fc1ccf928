// Loads the finished package (wasm-client/pkg) in Node, as a page would load it without a
// bundler, and calls it: the renamed imports and exports (finish-package's step 3) must line
// up with the minified glue, or this fails. Offline: the broker address refuses connections.
// Usage: node wasm-client/scripts/node-check.mjs
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "pkg");
const valv = await import(join(pkg, "valv_client.js"));
valv.initSync({ module: readFileSync(join(pkg, "valv_client_bg.wasm")) });

const client = new valv.Valv({ baseUrl: "http://127.0.0.1:9", retries: 0 });
const rejection = async (promise) => {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("the call did not reject");
};

const bad = await rejection(client.accounts({ withBalance: "yes" }));
assert.ok(bad instanceof valv.ValvError && bad instanceof Error, "a ValvError");
assert.equal(bad.code, "invalid_argument");
assert.equal(bad.message, "option withBalance must be a boolean");

const offline = await rejection(client.balances("a1"));
assert.equal(offline.code, "network");
assert.match(offline.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

assert.throws(() => client.transactions("a1", { dateFrom: "2024-02-30" }), (e) => e.code === "invalid_argument");
assert.match(client.loginUrl({ returnTo: "/accounts?x=1" }), /^http:\/\/127\.0\.0\.1:9\/auth\/login\?provider=seb&returnTo=%2Faccounts%3Fx%3D1$/);
const pages = client.transactions("a1");
assert.equal(typeof pages[Symbol.asyncIterator], "function");
const payment = await rejection(client.initiatePayment("sepa-credit-transfers", { instructedAmount: { amount: 5, currency: "EUR" } }));
assert.match(payment.message, /must be a string such as "99\.50", not a number/);
console.log("node-check: the package loads and answers in Node");
// The client's BroadcastChannel (cross-tab session events) would keep Node running.
process.exit(0);
