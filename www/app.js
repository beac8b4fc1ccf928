// The Valv demo app. Everything Valv-specific comes from example.js — the npm README's
// example, used unchanged.
import { valv, login, overview, describe } from "./example.js";

const $ = (id) => document.getElementById(id);
const el = (tag, text, className) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
};
const money = (a) => (a ? `${a.amount} ${a.currency}` : "–");

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = describe(err);
  if (err && err.body && typeof err.body === "object") {
    box.textContent += "\n" + JSON.stringify(err.body, null, 2);
  }
  box.hidden = false;
}

async function guarded(fn) {
  try { showError(null); return await fn(); } catch (err) { showError(err); return undefined; }
}

// ---- session ----

async function refresh() {
  const session = await guarded(() => valv.session());
  const authenticated = Boolean(session && session.authenticated);
  $("login").hidden = authenticated;
  $("logout").hidden = !authenticated;
  $("app").hidden = !authenticated;
  $("session").textContent = !session ? "Session unknown"
    : authenticated
      ? `Logged in to ${session.provider} · scopes ${(session.scopes || []).join(" ")} · session until ${session.sessionExpiresAt ?? "?"}`
      : "Not logged in";
  if (authenticated) await loadAccounts();
}

$("login").addEventListener("click", () => guarded(() => login()));
$("logout").addEventListener("click", () => guarded(() => valv.logout()));
valv.onSessionChange(() => refresh());

// ---- accounts ----

async function loadAccounts() {
  const data = await guarded(() => overview());
  if (!data) return;
  const body = $("accounts").tBodies[0];
  const debtor = document.forms.payment.elements.debtor;
  body.replaceChildren();
  debtor.replaceChildren();
  for (const { account, transactions } of data) {
    const row = el("tr");
    const balance = (account.balances || []).find((b) => b.balanceType === "interimAvailable") || (account.balances || [])[0];
    row.append(
      el("td", account.name || account.product || account.resourceId),
      el("td", account.iban || account.bban || ""),
      el("td", money(balance && balance.balanceAmount), "num"),
    );
    const cell = el("td");
    const button = el("button", `Transactions (${transactions.length}${transactions.length ? "+" : ""})`);
    button.type = "button";
    button.addEventListener("click", () => openTransactions(account));
    cell.append(button);
    row.append(cell);
    body.append(row);
    if (account.iban) debtor.append(new Option(`${account.name || account.iban} (${account.iban})`, account.iban));
  }
}

// ---- transactions, page by page ----

let pages = null;

function openTransactions(account) {
  if (pages) pages.return();
  pages = valv.transactions(account.resourceId, { bookingStatus: "booked" });
  $("transactions-account").textContent = `— ${account.name || account.iban || account.resourceId}`;
  $("transactions").tBodies[0].replaceChildren();
  $("transactions-section").hidden = false;
  $("more").hidden = false;
  $("transactions-status").textContent = "";
  loadMore();
}

async function loadMore() {
  const current = pages;
  $("more").disabled = true;
  const step = await guarded(() => current.next());
  $("more").disabled = false;
  if (!step || current !== pages) return;
  if (step.done) {
    $("more").hidden = true;
    $("transactions-status").textContent = "No more transactions.";
    return;
  }
  const body = $("transactions").tBodies[0];
  for (const t of step.value.transactions.booked || []) {
    const amount = t.transactionAmount;
    const row = el("tr");
    body.append(row);
    row.append(
      el("td", t.bookingDate || t.valueDate || ""),
      el("td", t.descriptiveText || t.remittanceInformationUnstructured || t.creditorName || ""),
      el("td", money(amount), amount && amount.amount.startsWith("-") ? "num negative" : "num"),
    );
  }
  $("transactions-status").textContent = `${body.rows.length} transactions loaded.`;
}

$("more").addEventListener("click", loadMore);

// ---- payments ----

let waiting = null;

function paymentBody(form) {
  const f = form.elements;
  const product = f.product.value;
  const creditor = f.creditor.value.trim();
  const creditorAccount = product.endsWith("bankgiros") ? { bgnr: creditor }
    : product.endsWith("plusgiros") ? { pgnr: creditor }
    : { iban: creditor };
  const body = {
    templateId: product,
    instructedAmount: { amount: f.amount.value.trim(), currency: f.currency.value },
    debtorAccount: { iban: f.debtor.value },
    creditorAccount,
    creditorName: f.creditorName.value.trim() || undefined,
  };
  const message = f.message.value.trim();
  if (message) {
    if (product.endsWith("credit-transfers") && product.startsWith("swedish")) body.creditorAccountMessage = message;
    else if (product.endsWith("bankgiros") || product.endsWith("plusgiros")) body.debtorAccountMessage = message;
    else body.remittanceInformationUnstructured = message;
  }
  return { product, body };
}

function state(text, className) {
  const p = $("payment-state");
  p.textContent = text;
  p.className = className || "";
}

$("payment").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { product, body } = paymentBody(event.target);
  await guarded(async () => {
    $("payment-progress").hidden = false;
    state("Sending the payment…");
    const created = await valv.initiatePayment(product, body);
    const paymentId = created.paymentId;
    $("payment-cancel").onclick = () => guarded(async () => {
      const r = await valv.cancelPayment(product, paymentId);
      state(`Cancelled${r && r.transactionStatus ? ` (${r.transactionStatus})` : ""}.`, "final-bad");
    });
    state(`Payment ${paymentId} received (${created.transactionStatus || "RCVD"}). Starting signing…`);
    const sca = await valv.startAuthorisation(product, paymentId);
    state(`${sca.psuMessage || "Sign the payment"} — waiting for the bank (SCA ${sca.scaStatus})…`);
    waiting = new AbortController();
    $("payment-stop").onclick = () => waiting && waiting.abort();
    const final = await valv.waitForPayment(product, paymentId, { signal: waiting.signal, timeoutMs: 120000 });
    const ok = ["ACSC", "ACCC"].includes(final.transactionStatus);
    state(`Payment ${paymentId}: ${final.transactionStatus}`, ok ? "final-ok" : "final-bad");
    await loadAccounts();
  });
  waiting = null;
});

// A login that the bank or the broker refused comes back as `?valvError=<code>`: show it once,
// then drop it from the address bar.
const LOGIN_ERRORS = {
  access_denied: "You cancelled the login at the bank.",
  invalid_grant: "The bank did not accept the login (the code expired or was used). Please log in again.",
  upstream_unavailable: "The bank could not be reached to finish the login. Please try again.",
  upstream_timeout: "The bank took too long to finish the login. Please try again.",
};
function showLoginError() {
  const params = new URLSearchParams(location.search);
  const code = params.get("valvError");
  if (code) {
    const box = $("error");
    box.textContent = LOGIN_ERRORS[code] || `The login failed (${code}).`;
    box.hidden = false;
    params.delete("valvError");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }
}

// After the first session check (which clears the error box).
refresh().finally(showLoginError);
