// Runs SEB's own Postman collections against the Valv sandbox bank with newman, each with
// its own login, as a Postman user would:
//   1. the "Decoupled Authorization" folder of the Account Information collection (a token
//      for 199311219639), then its "Account Information v7.0" folder;
//   2. the "Decoupled Authorization" folder of the Payment Initiation collection (a token for
//      198811215477), then every other Payment Initiation folder (templates, payments, funds
//      confirmation, periodic payments, and SEB's two worked examples with their assertions),
//      paying from the collection's own debtor account as SEB's sandbox allows.
//
// Usage: node sandbox/newman/run.mjs http://127.0.0.1:PORT   (a sandbox; --controls not needed)
//
// The collections are used as SEB publishes them (vendored in psd2/tests/fixtures/seb). The
// harness adapts only what the collections leave to the Postman user (see "Quirks of the
// collections" in psd2/tests/fixtures/seb/README.md): it points SEB's hosts at the sandbox,
// fills the environment (client, redirect URI, a future execution date), and gives every API
// request `Authorization: Bearer {{access_token}}`, a UUID `X-Request-ID` and a
// `PSU-IP-Address` where the collection has none or a placeholder ("exercitation anim").
// No request is excluded. Exits non-zero on any failed assertion or request error.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import newman from "newman";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "../../psd2/tests/fixtures/seb");
const base = (process.argv[2] || "").replace(/\/$/, "");
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error("usage: node sandbox/newman/run.mjs http://127.0.0.1:PORT");
  process.exit(2);
}

const SEB = "https://api-sandbox.sebgroup.com";

function load(name) {
  return JSON.parse(readFileSync(join(fixtures, name), "utf8"));
}

function futureWeekday(days) {
  const d = new Date(Date.now() + days * 86400e3);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const adaptations = new Map();
function adapted(what) {
  adaptations.set(what, (adaptations.get(what) || 0) + 1);
}

// Points a request at the sandbox and gives it the headers SEB requires of a real client.
function adapt(item, api) {
  if (item.item) {
    item.item.forEach((child) => adapt(child, api));
    return;
  }
  const req = item.request;
  // The Payment Initiation collection's "Bank ID simulation" expects 204 No Content and
  // then JSON-parses the empty body (its Account Information twin does not): keep its status
  // test, drop the parse.
  for (const e of item.event || []) {
    const exec = e.listen === "test" ? e.script?.exec : null;
    const at = exec ? exec.findIndex((l) => l.includes("JSON.parse(responseBody)")) : -1;
    if (at >= 0 && exec.some((l) => l.includes("have.status(204)"))) {
      e.script.exec = exec.slice(0, at);
      adapted("a 204's test script: the JSON parse of the empty body dropped");
    }
  }
  const raw = typeof req.url === "string" ? req.url : req.url.raw;
  if (raw.includes(SEB)) {
    req.url = raw.replace(SEB, base);
    adapted("SEB's host → the sandbox");
  }
  if (!api) return;
  const headers = (req.header || []).filter((h) => !h.disabled);
  const set = (key, value, reason) => {
    const h = headers.find((x) => x.key.toLowerCase() === key.toLowerCase());
    if (h) h.value = value;
    else headers.push({ key, value });
    adapted(reason);
  };
  const get = (key) => headers.find((x) => x.key.toLowerCase() === key.toLowerCase());
  const auth = get("Authorization");
  if (!auth || auth.value !== "Bearer {{access_token}}") {
    set("Authorization", "Bearer {{access_token}}", "Authorization: Bearer {{access_token}} (missing, stale or {{AccessToken}})");
  }
  const rid = get("X-Request-ID");
  if (!rid || !(rid.value.startsWith("{{$") || UUID.test(rid.value))) {
    set("X-Request-ID", "{{$guid}}", "X-Request-ID: a UUID (missing or placeholder)");
  }
  const ip = get("PSU-IP-Address");
  if (!ip || !/^(\{\{\$randomIP\}\}|\d+\.\d+\.\d+\.\d+)$/.test(ip.value)) {
    set("PSU-IP-Address", "192.0.2.10", "PSU-IP-Address: an address (missing or placeholder)");
  }
  // Other placeholder PSU headers ("exercitation anim") are dropped: they are optional.
  req.header = headers.filter((h) => !(h.key.startsWith("PSU-") && h.key !== "PSU-IP-Address" && /\s/.test(h.value)));
}

function folder(collection, name) {
  const found = collection.item.find((i) => i.name === name);
  if (!found) throw new Error(`folder ${name} not found in ${collection.info.name}`);
  return found;
}

function run(collection, folders, environment) {
  return new Promise((resolve, reject) => {
    newman.run(
      { collection, folder: folders, environment, reporters: ["cli"], timeoutRequest: 30000 },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

const environment = load("sandbox.postman_environment.json");
const setVar = (key, value) => {
  const v = environment.values.find((x) => x.key === key);
  if (v) v.value = value;
  else environment.values.push({ key, value, enabled: true });
};
setVar("clientId", "valv-demo");
setVar("clientSecret", "valv-demo-secret");
setVar("redirectUri", "http://127.0.0.1:8080/auth/callback");
setVar("scope", "psd2_accounts psd2_payments");
setVar("RandomFutureDate", futureWeekday(7));

const ais = load("account-information.postman_collection.json");
ais.variable = (ais.variable || []).map((v) => (v.key === "baseUri" ? { ...v, value: `${base}/ais/v7/identified2` } : v));
const auth = folder(ais, "Authorization");
adapt(auth, false);
adapt(folder(ais, "Account Information v7.0"), true);

const pis = load("payment-initiation.postman_collection.json");
pis.variable = (pis.variable || []).map((v) =>
  v.key === "baseUrl"
    ? { ...v, value: `${base}/pis/v7/identified2` }
    : v.key === "baseUrlFundConfirmation"
      ? { ...v, value: `${base}/cof/v7/identified2` }
      : v,
);
adapt(folder(pis, "Authorization"), false);
const pisFolders = pis.item.map((i) => i.name).filter((n) => n !== "Authorization");
pisFolders.forEach((n) => adapt(folder(pis, n), true));

let failures = 0;
let requests = 0;
let assertions = 0;
async function step(title, collection, folders) {
  console.log(`\n=== ${title}`);
  const summary = await run(collection, folders, environment);
  const stats = summary.run.stats;
  requests += stats.requests.total;
  assertions += stats.assertions.total;
  failures += summary.run.failures.length;
  for (const f of summary.run.failures) {
    console.error(`FAILED: ${f.source?.name ?? "?"}: ${f.error?.message ?? f.error}`);
  }
  // Carry the variables the scripts set (access_token, ids) into the next run.
  for (const v of summary.environment.values.members) setVar(v.key, v.value);
}

try {
  await step("Decoupled Authorization (Account Information collection)", ais, ["Decoupled Authorization"]);
  const token = environment.values.find((v) => v.key === "access_token")?.value;
  if (!token) throw new Error("the decoupled flow gave no access_token");
  await step("Account Information v7.0", ais, ["Account Information v7.0"]);
  setVar("access_token", "");
  await step("Decoupled Authorization (Payment Initiation collection)", pis, ["Decoupled Authorization"]);
  const pisToken = environment.values.find((v) => v.key === "access_token")?.value;
  if (!pisToken || pisToken === token) throw new Error("the Payment Initiation collection's own login gave no new access_token");
  await step(`Payment Initiation: ${pisFolders.join(", ")}`, pis, pisFolders);
} catch (e) {
  console.error(`newman: ${e.message ?? e}`);
  process.exit(1);
}

console.log("\n=== Summary");
console.log(`requests: ${requests}, assertions: ${assertions}, failures: ${failures}`);
console.log("harness adaptations (requests affected):");
for (const [what, n] of adaptations) console.log(`  ${n} × ${what}`);
console.log("excluded requests: none");
process.exit(failures === 0 ? 0 : 1);
