// The demo app (www/) in headless Chromium, as a person uses it: sign in at the sandbox bank,
// accounts and balances, transactions (paging, date filter, details), payments signed with
// Mobile BankID (paid, cancelled, signing cancelled, rejected, refused input), sign out, expiry seen in a second tab, a failing bank.
// Every test also proves page JavaScript could reach no token, and axe-core checks the screens.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  APP, PHONE, DESKTOP, newApp, signIn, bank, tokensOf, closeBrowser, assertNoTokenReachable, assertAccessible, screenshot,
} from "./harness.mjs";

// Different people for tests that change the bank's data, so each test's figures are its own.
const ANNA = "9311219639"; // payments
const ERIK = "9311219589"; // transactions: 477 booked on the salary account
const MARIA = "8811215477"; // phone layout
const LARS = "8811212862"; // session expiry (their grant is revoked)
const KARIN = "8311211356"; // a failing bank

after(closeBrowser);

/** Runs `body(app, page)` in a fresh profile, then the token check and the page-error check. */
async function withApp(device, person, body) {
  await bank("PUT", "/faults", { rules: [] });
  const app = await newApp(device);
  try {
    const page = await app.page();
    await body(app, page);
    await assertNoTokenReachable(app, page, person);
    assert.deepEqual(app.errors, [], "no uncaught error in the page");
  } finally {
    await app.close();
  }
}

/**
 * The person signs the payment on `page` with their phone: the demo's link to the sandbox's
 * BankID app, in a new tab (the other device), where they identify.
 */
async function signOnPhone(app, page, person) {
  const link = page.locator("section.progress").getByRole("link", { name: "No phone? Use the sandbox's BankID app" });
  const [phone] = await Promise.all([app.context.waitForEvent("page"), link.click()]);
  await phone.locator("#pin").fill(person);
  await phone.getByRole("button", { name: "Identify" }).click();
  await phone.getByText("Signed").waitFor();
  await phone.close();
}

/** `"−1 234,50 kr"` (sv-SE, with its minus sign and spaces) → öre as a BigInt. */
function ore(text) {
  const t = text.replace(/[\s\u00a0\u202f]|kr|Booked/g, "").replace("−", "-");
  const [whole, frac = ""] = t.replace("-", "").split(",");
  const v = BigInt(whole) * 100n + BigInt(frac.padEnd(2, "0").slice(0, 2));
  return t.startsWith("-") ? -v : v;
}

test("signed out: what the demo is, the sign-in button and the test people; then sign in at the bank", async () => {
  await withApp(DESKTOP, ANNA, async (app, page) => {
    await page.goto(`${APP}/`);
    await page.getByRole("heading", { name: "A bank app with no tokens in the browser" }).waitFor();
    const people = await page.locator("table.people tbody tr").allInnerTexts();
    assert.equal(people.length, 5);
    assert.match(people[0], /9311219639\s+Anna Andersson/);
    await assertAccessible(page, "landing");
    await screenshot(page, "landing-desktop");

    await signIn(page, ANNA);
    const cards = page.locator(".account");
    assert.equal(await cards.count(), 3, "Anna has three accounts");
    const first = await cards.first().innerText();
    assert.match(first, /Lönekonto/);
    assert.match(first, /SE3750000000054400047881/);
    // sv-SE money: a space between thousands, a decimal comma, "kr".
    assert.match(first, /\d{1,3}(?:[\u00a0\u202f ]\d{3})*,\d{2}[\u00a0 ]kr/);
    assert.match(await page.locator(".total").innerText(), /Available in total .*kr/);
    // The session indicator: who, the scopes, and both times counting down.
    await page.locator("#session-who", { hasText: "Anna Andersson" }).waitFor();
    assert.equal(await page.locator("#session-who").textContent(), "Signed in as Anna Andersson");
    await page.getByRole("button", { name: /Anna Andersson/ }).click();
    assert.equal(await page.locator("#session-scopes").innerText(), "psd2_accounts, psd2_payments");
    const access = await page.locator("#session-access").innerText();
    assert.match(access, /expires in \d+ min \d+ s/);
    const ends = await page.locator("#session-ends").innerText();
    assert.match(ends, /^in \d+ min \d+ s \(\d+ [a-z]+\. \d{4}/);
    await page.waitForFunction((before) => document.getElementById("session-ends").innerText !== before, ends);
    await assertAccessible(page, "accounts with the session details open");
    await page.getByRole("button", { name: /Anna Andersson/ }).click();
    await screenshot(page, "accounts-desktop");
  });
});

test("transactions: pages of 199, the balance chart, a date filter and one transaction's details", async () => {
  await withApp(DESKTOP, ERIK, async (app, page) => {
    await signIn(page, ERIK);
    await page.locator(".account", { hasText: "Lönekonto" }).click();
    await page.getByRole("heading", { name: /Lönekonto/, level: 1 }).waitFor();
    const booked = page.locator("section", { has: page.getByRole("heading", { name: "Transactions" }) }).locator("tbody tr");
    const status = page.getByRole("status").filter({ hasText: /transactions shown/ });
    await status.filter({ hasText: "199 transactions shown." }).waitFor();
    assert.equal(await booked.count(), 199);
    assert.equal(await page.locator("section", { hasText: "Pending" }).locator("tbody tr").count(), 3, "three pending");
    // The chart: a path drawn from the loaded transactions, described for screen readers.
    const chart = page.getByRole("img", { name: /^Balance from .* between .*kr and .*kr$/ });
    assert.ok((await chart.locator("path").nth(1).getAttribute("d")).split("L").length > 50, "the line has a point per day");
    await assertAccessible(page, "account");
    await screenshot(page, "account-desktop");

    await page.getByRole("button", { name: "Load more" }).click();
    await status.filter({ hasText: "398 transactions shown." }).waitFor();
    await page.getByRole("button", { name: "Load more" }).click();
    await status.filter({ hasText: "477 transactions shown — that is all." }).waitFor();
    assert.equal(await booked.count(), 477);
    assert.equal(await page.getByRole("button", { name: "Load more" }).isHidden(), true);
    const dates = await booked.evaluateAll((rows) => rows.map((r) => r.dataset.date));
    assert.deepEqual(dates, [...dates].sort().reverse(), "newest first");
    // Every page adds new transactions: no row twice (the dialog's reference is per row, so
    // compare what identifies a row here: its date, text and amount together with its place).
    const rows = await booked.evaluateAll((trs) => trs.map((r) => r.innerText));
    assert.ok(new Set(rows.map((r, i) => `${dates[i]}|${r}`)).size > 400, "the pages are not one page repeated");

    // A date filter: only that period, one answer.
    const to = dates[30];
    const from = dates[80];
    await page.getByLabel("From", { exact: true }).fill(from);
    await page.getByLabel("To", { exact: true }).fill(to);
    await page.getByRole("button", { name: "Show" }).click();
    await status.filter({ hasText: /^(?!477 )\d+ transactions shown — that is all\.$/ }).waitFor(); // the period's, not the 477
    const filtered = await booked.evaluateAll((rows) => rows.map((r) => r.dataset.date));
    assert.ok(filtered.length >= 50 && filtered.length < 199, `${filtered.length} in the period`);
    assert.ok(filtered.every((d) => d >= from && d <= to), `all between ${from} and ${to}: ${filtered}`);
    assert.equal(filtered.length, dates.filter((d) => d >= from && d <= to).length, "every transaction of the period");
    // A backwards period is refused in the page, without asking the bank.
    await page.getByLabel("From", { exact: true }).fill(to);
    await page.getByLabel("To", { exact: true }).fill(from);
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByText("The start date must be on or before the end date.").waitFor();
    await page.getByRole("button", { name: "Clear" }).click();
    await status.filter({ hasText: "199 transactions shown." }).waitFor();

    // One transaction's details, from the bank's details endpoint.
    const row = booked.first();
    const name = await row.getByRole("button").innerText();
    await row.getByRole("button").click();
    const dialog = page.getByRole("dialog", { name });
    await dialog.getByText("Balance after").waitFor();
    const shown = await dialog.innerText();
    assert.match(shown, /Amount\s+[−-]?[\d\u00a0\u202f ]+,\d{2}\u00a0kr/);
    assert.match(shown, /Message\s+\S+/, "the details call adds the message");
    await assertAccessible(page, "transaction details");
    await screenshot(page, "transaction-desktop");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });
});

test("a payment from a template: checked, signed with Mobile BankID, paid, and booked on the account", async () => {
  await withApp(DESKTOP, ANNA, async (app, page) => {
    await signIn(page, ANNA);
    const before = ore(await page.locator(".account", { hasText: "Lönekonto" }).locator(".sub").innerText());
    await page.getByRole("link", { name: "Pay", exact: true }).click();
    await page.locator("form.pay[data-template]").waitFor(); // the template's payee is filled in
    assert.deepEqual(await page.getByLabel("Template").locator("option").allInnerTexts(),
      ["Transfer to a Swedish account", "Bankgiro payment", "PlusGiro payment"]);
    assert.equal(await page.getByLabel("To account (IBAN)").inputValue(), "SE2550000000054400047903", "the template's payee");

    // Refused input: in the page (amount) and by valv-client's payment rules (message length).
    const posts = async () => {
      await app.settled();
      return app.received.filter((r) => r.url.includes("/payments/")).length;
    };
    await page.getByLabel("Amount (SEK)").fill("12,345");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("Use at most two decimals (öre).").waitFor();
    assert.equal(await page.getByLabel("Amount (SEK)").getAttribute("aria-invalid"), "true");
    await page.getByLabel("Amount (SEK)").fill("250");
    await page.getByLabel("Message to the payee").fill("Far too long a message");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator("#pay-message-error").filter({ hasText: /12/ }).waitFor();
    assert.equal(await posts(), 0, "nothing refused was sent to the bank");
    await assertAccessible(page, "payment form with errors");
    await page.getByLabel("Message to the payee").fill("Hyra dec");
    await screenshot(page, "payment-desktop");
    await page.getByRole("button", { name: "Continue" }).dblclick(); // a double press: one payment

    const progress = page.locator("section.progress");
    await page.getByRole("heading", { name: "250,00 kr to Creditor Namesson" }).waitFor();
    await progress.getByText("Received by the bank — waiting for your signature").waitFor();
    await app.settled();
    const initiations = app.received.filter((r) => /\/payments\/[a-z-]+$/.test(new URL(r.url).pathname));
    assert.equal(initiations.length, 1, "one payment for a double press");
    await page.getByRole("button", { name: "Sign with Mobile BankID" }).click();
    // BankID's animated QR code and its words, until the phone signs.
    const qr = progress.locator("img.qr");
    await qr.waitFor();
    const first = await qr.getAttribute("src");
    await progress.getByText(/Start the BankID app on your phone/).waitFor();
    await page.waitForFunction((src) => document.querySelector("section.progress img.qr").getAttribute("src") !== src, first, { timeout: 5000 });
    assert.equal(await progress.getAttribute("data-status"), "RCVD", "not signed yet");
    await assertAccessible(page, "payment BankID");
    await screenshot(page, "payment-bankid-desktop");
    await signOnPhone(app, page, ANNA);
    await progress.locator(".state.ok", { hasText: "Paid" }).waitFor();
    assert.equal(await progress.getAttribute("data-status"), "ACSC");
    assert.equal(await qr.isHidden(), true, "no QR code once signed");
    assert.equal(await progress.locator(".steps li.done").count(), 3);
    await assertAccessible(page, "payment paid");
    await screenshot(page, "payment-paid-desktop");

    // Booked: the account's booked balance is 250 kr lower and the payment is its newest entry.
    await page.getByRole("link", { name: "Accounts", exact: true }).click();
    const card = page.locator(".account", { hasText: "Lönekonto" });
    await card.waitFor();
    const afterwards = ore(await card.locator(".sub").innerText());
    assert.equal(before - afterwards, 25000n, "250,00 kr less");
    await card.click();
    const newest = page.locator("section", { has: page.getByRole("heading", { name: "Transactions" }) }).locator("tbody tr").first();
    await newest.waitFor();
    assert.match(await newest.innerText(), /Creditor Namesson[\s\S]*−250,00\u00a0kr/);
  });
});

test("a payment cancelled before signing, and one the account cannot cover, rejected with the bank's reason", async () => {
  await withApp(DESKTOP, ANNA, async (app, page) => {
    await signIn(page, ANNA);
    await page.goto(`${APP}/#/pay`);
    await page.locator("form.pay[data-template]").waitFor();
    await page.getByLabel("Amount (SEK)").fill("99.50");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Cancel payment" }).click();
    const progress = page.locator("section.progress");
    await progress.locator(".state.bad", { hasText: "Cancelled" }).waitFor();
    assert.equal(await progress.getAttribute("data-status"), "CANC");
    assert.equal(await page.getByRole("button", { name: "Sign with Mobile BankID" }).isHidden(), true);

    await page.getByRole("button", { name: "New payment" }).click();
    await page.locator("form.pay[data-template]").waitFor();
    await page.getByLabel("Template").selectOption({ label: "Bankgiro payment" });
    await page.locator('form.pay[data-template="swedish-domestic-private-bankgiros"]').waitFor();
    await page.getByLabel("Bankgiro number").fill("12");
    await page.getByLabel("Amount (SEK)").fill("10");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator("#pay-creditor-error", { hasText: "not a Bankgiro number" }).waitFor();
    await page.getByLabel("Bankgiro number").fill("8080-1111");
    await page.getByLabel("Amount (SEK)").fill("10000000");
    await page.getByRole("button", { name: "Continue" }).click();
    // The person cancels in BankID: said so, and they may sign again.
    await page.getByRole("button", { name: "Sign with Mobile BankID" }).click();
    const open = progress.getByRole("link", { name: "Open BankID on this device" });
    await open.waitFor();
    const autostartToken = new URL(await open.getAttribute("href")).searchParams.get("autostarttoken");
    await bank("POST", "/decoupled/fail", { hintCode: "userCancel", autostartToken });
    await progress.getByText("Not signed: The signing was cancelled or took too long. Please try again.").waitFor();
    assert.equal(await progress.locator("img.qr").isHidden(), true);
    assert.equal(await progress.getAttribute("data-status"), "RCVD");
    await page.getByRole("button", { name: "Sign again with Mobile BankID" }).click();
    await signOnPhone(app, page, ANNA);
    await progress.locator(".state.bad", { hasText: "Rejected by the bank" }).waitFor();
    assert.match(await progress.locator(".state").innerText(), /does not have enough money available/);
    assert.equal(await progress.getAttribute("data-status"), "RJCT");
  });
});

test("Mobile BankID: an animated QR code, the sandbox's BankID app signs, the accounts appear; a cancel in BankID is explained", async () => {
  await withApp(DESKTOP, MARIA, async (app, page) => {
    await page.goto(`${APP}/`);
    await page.getByRole("button", { name: "Sign in with Mobile BankID" }).click();
    const card = page.locator("section.bankid");
    const qr = card.locator("img.qr");
    await qr.waitFor();
    const first = await qr.getAttribute("src");
    assert.match(first, /^data:image\/svg\+xml,%3Csvg/);
    await card.getByText(/Start the BankID app on your phone/).waitFor();
    // Animated: a new QR code about every second.
    await page.waitForFunction((src) => document.querySelector("img.qr").getAttribute("src") !== src, first, { timeout: 5000 });
    assert.match(await card.getByRole("link", { name: "Open BankID on this device" }).getAttribute("href"), /^bankid:\/\/\/\?autostarttoken=[\w-]+&redirect=null$/);
    await assertAccessible(page, "Mobile BankID");
    await screenshot(page, "bankid-desktop");

    // The person has no phone: the sandbox's BankID app, in a new tab, signs.
    const [phone] = await Promise.all([
      app.context.waitForEvent("page"),
      card.getByRole("link", { name: "No phone? Use the sandbox's BankID app" }).click(),
    ]);
    await phone.locator("#pin").fill(MARIA);
    await phone.getByRole("button", { name: "Identify" }).click();
    await phone.getByText("Identified").waitFor();
    await phone.close();
    await page.getByRole("heading", { name: "Accounts", level: 1 }).waitFor();
    assert.equal(await page.locator(".account").count(), 3, "Maria's three accounts");
    await page.locator("#session-who").filter({ hasText: /\S/ }).waitFor();

    // Signed out, then BankID says the person cancelled: BankID's words and a way to retry.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in with Mobile BankID" }).click();
    await qr.waitFor();
    await bank("POST", "/decoupled/fail", { hintCode: "userCancel" });
    await card.getByText("Action cancelled.").waitFor();
    assert.equal(await qr.isHidden(), true, "no QR code for a login that is over");
    await card.getByRole("button", { name: "Try again" }).waitFor();
    await card.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("heading", { name: "A bank app with no tokens in the browser" }).waitFor();
  });
});

test("sign out ends the session: the API refuses the old cookie and the landing page comes back", async () => {
  await withApp(DESKTOP, ANNA, async (app, page) => {
    await signIn(page, ANNA);
    const cookie = (await app.context.cookies(APP)).find((c) => c.name.includes("valv"));
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in with SEB (sandbox)" }).waitFor();
    await page.getByRole("alert").getByText("You are signed out").waitFor();
    assert.equal(await page.locator("#session").isHidden(), true);
    // The cookie the browser had no longer opens anything.
    const res = await fetch(`${APP}/api/seb/ais/v7/identified2/accounts`, {
      headers: { cookie: `${cookie.name}=${cookie.value}`, "x-valv-csrf": "1" },
    });
    assert.equal(res.status, 401);
    await signIn(page, ANNA); // and signing in again works
  });
});

test("a session that ends (the bank revoked the grant) is shown in every open tab, with a way to sign in again", async () => {
  await withApp(DESKTOP, LARS, async (app, first) => {
    await signIn(first, LARS);
    const second = await app.page();
    await second.goto(`${APP}/#/pay`);
    await second.getByLabel("Template").waitFor();

    await bank("POST", "/revoke", { personalIdentityNumber: LARS });
    await first.locator(".account").first().click(); // the next call finds the grant gone
    for (const tab of [first, second]) {
      const dialog = tab.getByRole("dialog", { name: "Your session has ended" });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: "Sign in again" }).waitFor();
    }
    await assertAccessible(second, "session ended");
    await screenshot(second, "session-ended-desktop");
    await second.getByRole("button", { name: "Sign in again" }).click();
    await second.waitForURL((u) => !u.href.startsWith(APP));
    assert.ok(await second.locator("#pin").isVisible(), "the bank's login page");
  });
});

test("a failing bank is explained with a way to retry, and rate limits too", async () => {
  await withApp(DESKTOP, KARIN, async (app, page) => {
    await signIn(page, KARIN);
    await bank("PUT", "/faults", { rules: [{ endpoint: "ais", failureRate: 1, status: 503 }] });
    await page.locator(".account").first().click();
    const alert = page.getByRole("alert");
    await alert.getByText("The bank is having problems").waitFor();
    assert.match(await alert.innerText(), /Reference for support: [0-9a-f-]{36}/);
    await assertAccessible(page, "bank error");
    await screenshot(page, "bank-error-desktop");
    await bank("PUT", "/faults", { rules: [] });
    await alert.getByRole("button", { name: "Try again" }).click();
    await page.getByText(/transactions shown/).waitFor();
    assert.equal(await alert.isHidden(), true);

    await bank("PUT", "/faults", { rules: [{ endpoint: "ais", failureRate: 1, status: 429, retryAfter: 1 }] });
    await page.getByRole("button", { name: "Load more" }).click();
    await alert.getByText("The bank is limiting requests").waitFor();
    await bank("PUT", "/faults", { rules: [] });
    await alert.getByRole("button", { name: "Try again" }).click();
    await page.getByText("398 transactions shown.").waitFor();
  });
});

test("phone (375 px): every main screen fits, is accessible, and works by touch", async () => {
  await withApp(PHONE, MARIA, async (app, page) => {
    const fits = async (screen) => {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${screen} is ${width} px wide`);
    };
    await page.goto(`${APP}/`);
    await page.getByRole("button", { name: "Sign in with SEB (sandbox)" }).waitFor();
    await fits("landing");
    await assertAccessible(page, "landing");
    await screenshot(page, "landing-phone");
    await signIn(page, MARIA);
    await fits("accounts");
    await assertAccessible(page, "accounts");
    await screenshot(page, "accounts-phone");
    await page.locator(".account").first().tap();
    await page.getByText("199 transactions shown.").waitFor();
    await fits("account");
    await assertAccessible(page, "account");
    await screenshot(page, "account-phone");
    await page.getByRole("link", { name: "Pay", exact: true }).tap();
    await page.locator("form.pay[data-template]").waitFor();
    await page.getByLabel("Amount (SEK)").fill("42");
    await fits("payment");
    await assertAccessible(page, "payment");
    await page.getByRole("button", { name: "Continue" }).tap();
    await page.getByRole("button", { name: "Sign with Mobile BankID" }).tap();
    await page.locator("section.progress img.qr").waitFor();
    await fits("payment BankID");
    await signOnPhone(app, page, MARIA);
    await page.locator("section.progress .state.ok", { hasText: "Paid" }).waitFor();
    await screenshot(page, "payment-paid-phone");
  });
});

test("keyboard only: sign in, open an account and a transaction, pay, and sign out without a pointer", async () => {
  await withApp(DESKTOP, MARIA, async (app, page) => {
    const tabTo = async (name, key = "Tab") => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press(key);
        const label = await page.evaluate(() => {
          const e = document.activeElement;
          return !e || e === document.body ? "" : e.innerText || e.getAttribute("aria-label") || "";
        });
        if (label.includes(name)) return;
      }
      assert.fail(`Tab never reached "${name}"`);
    };
    await page.goto(`${APP}/`);
    await page.getByRole("button", { name: "Sign in with SEB (sandbox)" }).waitFor();
    await tabTo("Sign in with SEB");
    await page.keyboard.press("Enter");
    await page.locator("#pin").waitFor();
    await page.keyboard.type(MARIA);
    await page.keyboard.press("Enter");
    await page.locator(".account").first().waitFor();
    await tabTo("Lönekonto");
    await page.keyboard.press("Enter");
    await page.getByText("199 transactions shown.").waitFor();
    await tabTo("Clear"); // past the pending ones and the date filter
    await page.keyboard.press("Tab"); // the first booked transaction
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Amount").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.innerText), "Close", "focus moves into the dialog");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await tabTo("Pay", "Shift+Tab"); // back up to the navigation
    await page.keyboard.press("Enter");
    await page.locator("form.pay[data-template]").waitFor();
    await page.getByLabel("Amount (SEK)").focus();
    await page.keyboard.type("17");
    await page.keyboard.press("Enter"); // submits the form
    await page.getByRole("button", { name: "Sign with Mobile BankID" }).waitFor();
    await tabTo("Sign with Mobile BankID");
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: "Open BankID on this device" }).waitFor();
    await tabTo("Open BankID on this device"); // the focus can reach BankID's link
    await signOnPhone(app, page, MARIA); // on the other device
    await page.locator("section.progress .state.ok").waitFor();
    await tabTo("Sign out");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Sign in with SEB (sandbox)" }).waitFor();
  });
});

test("the token check is not vacuous: a token page JavaScript could read fails it", async () => {
  const app = await newApp(DESKTOP);
  try {
    const page = await app.page();
    await signIn(page, ERIK);
    await assertNoTokenReachable(app, page, ERIK);
    const [access] = await tokensOf(ERIK);
    await page.evaluate((t) => sessionStorage.setItem("leak", t), access);
    await assert.rejects(assertNoTokenReachable(app, page, ERIK), /a token is in session/);
  } finally {
    await app.close();
  }
});
