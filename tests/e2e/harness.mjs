// The harness of the demo app's end-to-end tests: headless Chromium through Playwright, the
// live broker (which serves www/) and the sandbox bank's test controls, axe-core, and a
// recorder of everything the page received, to prove no token ever reached it.
//
// `cargo xtask test` starts the broker and the sandbox and sets:
//   VALV_APP          the broker's origin (the app)           e.g. http://127.0.0.1:41234
//   VALV_BANK         the sandbox bank's origin (controls on)  e.g. http://localhost:41235
//   VALV_CHROMIUM     the Chromium binary
//   VALV_SCREENSHOTS  (optional) a directory: the main screens are saved there as PNG
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

export const APP = need("VALV_APP");
export const BANK = need("VALV_BANK");
const SHOTS = process.env.VALV_SCREENSHOTS || "";

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests with \`cargo xtask test --only e2e\``);
  return v.replace(/\/$/, "");
}

/** Desktop and phone (375 px, touch) viewports. */
export const DESKTOP = { viewport: { width: 1280, height: 860 } };
export const PHONE = { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let browser;

/** The one browser of a test file (closed by `closeBrowser`). */
export async function launch() {
  browser ??= await chromium.launch({
    executablePath: process.env.VALV_CHROMIUM || "chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
  });
  return browser;
}

export async function closeBrowser() {
  await browser?.close();
  browser = undefined;
}

/**
 * A fresh browser profile (its own cookies) in sv-SE, recording every response its pages
 * receive. `app.page()` opens a tab; `app.received` holds `{ url, headers, body }`.
 */
export async function newApp(device = DESKTOP) {
  const b = await launch();
  const context = await b.newContext({ ...device, locale: "sv-SE", timezoneId: "Europe/Stockholm" });
  context.setDefaultTimeout(15_000);
  // Where the demo's "sandbox BankID app" link goes (the demo's own default is localhost:8081).
  await context.addInitScript((bank) => localStorage.setItem("valv-demo-sandbox", bank), BANK);
  const received = [];
  const errors = [];
  const pending = new Set();
  context.on("response", (res) => {
    const p = (async () => {
      let body = "";
      try {
        body = (await res.body()).toString("latin1");
      } catch {
        // redirects and aborted loads have no body
      }
      received.push({ url: res.url(), status: res.status(), headers: await res.allHeaders().catch(() => ({})), body });
    })();
    pending.add(p);
    p.finally(() => pending.delete(p));
  });
  const app = {
    context,
    received,
    errors,
    async page() {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
      // Console errors of the app (a CSP violation is one); failed loads are the tests' own faults.
      page.on("console", (m) => {
        if (m.type() === "error" && page.url().startsWith(APP) && !m.text().startsWith("Failed to load resource")) {
          errors.push(`${page.url()}: console: ${m.text()}`);
        }
      });
      return page;
    },
    /** Waits for the recorder to read every body so far. */
    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
    async close() {
      await app.settled();
      await context.close();
    },
  };
  return app;
}

// ---- signing in through the sandbox bank's login page ----

/** Opens the app, signs in as `person` on the bank's page, and waits for the accounts. */
export async function signIn(page, person) {
  await page.goto(`${APP}/`);
  await page.getByRole("button", { name: "Sign in with SEB (sandbox)" }).click();
  await page.waitForURL((u) => u.origin === BANK);
  await page.locator("#pin").fill(person);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => u.origin === APP);
  await page.getByRole("heading", { name: "Accounts", level: 1 }).waitFor();
  await page.locator(".account").first().waitFor();
}

// ---- the sandbox bank's test controls ----

export async function bank(method, path, body) {
  const res = await fetch(`${BANK}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `sandbox ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Every access and refresh token the bank issued to `person`. */
export async function tokensOf(person) {
  const list = await bank("GET", `/tokens?personalIdentityNumber=${person}`);
  return list.flatMap((r) => [r.access_token ?? r.accessToken, r.refresh_token ?? r.refreshToken]).filter(Boolean);
}

// ---- what page JavaScript can reach ----

/**
 * Asserts that no token the bank issued to `person` is anywhere page JavaScript could read
 * it: the session cookie is HttpOnly (and `document.cookie` does not show it), local and
 * session storage hold none, and no response any page of `app` received contains one (in a
 * header or the body).
 */
export async function assertNoTokenReachable(app, page, person) {
  await app.settled();
  const tokens = await tokensOf(person);
  assert.ok(tokens.length >= 2, `the bank issued ${person} tokens (found ${tokens.length})`);
  // Every session cookie the broker set was HttpOnly and Secure (and one was set).
  const setCookies = app.received
    .filter((r) => r.url.startsWith(APP))
    .flatMap((r) => (r.headers["set-cookie"] || "").split("\n"))
    .filter((c) => c.includes("valv") && !/max-age=0/i.test(c));
  assert.ok(setCookies.length > 0, "the broker set a session cookie");
  for (const c of setCookies) assert.match(c, /;\s*HttpOnly/i, `HttpOnly: ${c.split("=")[0]}`);
  for (const c of setCookies) assert.match(c, /;\s*Secure/i, `Secure: ${c.split("=")[0]}`);
  const session = (await app.context.cookies(APP)).find((c) => c.name.includes("valv"));
  if (session) assert.equal(session.httpOnly, true, "the browser holds the session cookie as HttpOnly");
  const reachable = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
  }));
  assert.ok(!reachable.cookie.includes("valv"), "document.cookie does not show the session cookie");
  for (const t of tokens) {
    for (const [where, text] of Object.entries(reachable)) assert.ok(!text.includes(t), `a token is in ${where}`);
    for (const r of app.received) {
      assert.ok(!r.body.includes(t), `the response of ${r.url} contains a token`);
      assert.ok(!JSON.stringify(r.headers).includes(t), `the headers of ${r.url} contain a token`);
    }
  }
  // The scan means something only if the bodies were read: the accounts' bodies must be there.
  assert.ok(app.received.some((r) => r.url.startsWith(`${APP}/api/`) && r.body.includes("resourceId")), "the recorder read the API bodies");
}

// ---- accessibility (axe-core in the same browser) ----

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page (WCAG 2.1 A/AA rules); fails on any serious or critical violation. */
export async function assertAccessible(page, screen) {
  // Evaluated through the DevTools protocol: the app's CSP (no inline scripts) stays on.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const describe = (v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n    ")}`;
  assert.equal(bad.length, 0, `axe on ${screen} (${page.viewportSize().width} px):\n  ${bad.map(describe).join("\n  ")}`);
  assert.ok(result.passes.length > 10, `axe ran its rules on ${screen}`);
}

/** Saves a screenshot as `<dir>/<name>.png` when VALV_SCREENSHOTS is set. */
export async function screenshot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
}
