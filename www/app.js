// The Valv demo app: a signed-out landing page, the accounts, one account's transactions and
// balance, and payments. Every bank call goes through valv-client (set up in example.js, the
// npm README's example); the page never sees a token.
import { valv, login } from "./example.js";
import { $, h } from "./lib/dom.js";
import { explain, loginError } from "./lib/errors.js";
import * as landing from "./views/landing.js";
import * as bankIdView from "./views/bankid.js";
import * as accountsView from "./views/accounts.js";
import * as accountView from "./views/account.js";
import * as paymentView from "./views/payment.js";
import { sessionIndicator } from "./views/session.js";

const LOCALES = ["sv-SE", "en-GB", "en-US", "de-DE"];
const locale = LOCALES.includes(localStorage.getItem("valv-demo-locale")) ? localStorage.getItem("valv-demo-locale") : "sv-SE";
document.documentElement.dataset.locale = locale;

let signedIn = false;
let shown = null; // the AbortController of the view on screen
let accountsList = null; // the accounts with balances, fetched once per sign-in

/** The signed-in user's accounts (cached until `changed()`). */
function accounts() {
  accountsList ??= valv.accounts({ withBalance: true }).catch((err) => {
    accountsList = null;
    throw err;
  });
  return accountsList;
}

const indicator = sessionIndicator({ locale, onRunOut: () => valv.session().catch(() => {}) });

// ---- screens ----

const ROUTES = [
  [/^#\/accounts\/([^/]+)$/, (view, ctx, m) => accountView.render(view, ctx, decodeURIComponent(m[1]))],
  [/^#\/pay$/, (view, ctx) => paymentView.render(view, ctx)],
  [/^(#\/?|#\/bankid)?$/, (view, ctx) => accountsView.render(view, ctx)], // signed in from #/bankid: the accounts
];

async function show() {
  shown?.abort();
  const controller = new AbortController();
  shown = controller;
  const view = $("view");
  view.setAttribute("aria-busy", "true");
  $("nav").hidden = !signedIn;
  try {
    if (!signedIn) {
      indicator.hide();
      if (location.hash === "#/bankid") {
        bankIdView.render(view, { valv, fail, signal: controller.signal, onCancel: () => { location.hash = "#/"; } });
      } else {
        landing.render(view, { onSignIn: signIn, onBankId: () => { location.hash = "#/bankid"; } });
      }
      return;
    }
    const ctx = { valv, accounts, locale, signal: controller.signal, fail, changed: () => { accountsList = null; updateSession().catch(() => {}); } };
    const [, render, m] = ROUTES.map(([re, r]) => [re, r, re.exec(location.hash)]).find(([, , m]) => m) ?? [null, null, null];
    for (const a of $("nav").querySelectorAll("a")) {
      if (a.getAttribute("href") === (location.hash.startsWith("#/pay") ? "#/pay" : "#/")) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!render) {
      view.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Go to your accounts")));
      return;
    }
    await render(view, ctx, m);
  } catch (err) {
    if (!controller.signal.aborted) fail(err, show);
  } finally {
    if (shown === controller) view.setAttribute("aria-busy", "false");
  }
}

window.addEventListener("hashchange", () => {
  dismiss();
  show().then(() => $("view").focus({ preventScroll: true }));
});

async function updateSession() {
  const info = await valv.session();
  if (!info.authenticated) return;
  const owner = await accounts().then((list) => list.find((a) => a.ownerName)?.ownerName, () => undefined);
  if (!signedIn) return; // signed out meanwhile
  indicator.show(info, owner);
}

// ---- signing in and out ----

function signIn() {
  login(); // to the bank's login page; back here afterwards
}

$("logout").addEventListener("click", async () => {
  $("logout").disabled = true;
  try {
    await valv.logout();
  } catch (err) {
    fail(err);
  } finally {
    $("logout").disabled = false;
  }
});

// Login, logout and expiry, from this tab or another one of the app's tabs.
valv.onSessionChange((change) => {
  const was = signedIn;
  signedIn = change.authenticated;
  accountsList = null;
  if (change.type === "expired") {
    $("expired").showModal();
  } else if (change.type === "logout") {
    notify({ title: "You are signed out", detail: "Sign in again whenever you like.", action: null }, null, "info");
  } else if (change.type === "login") {
    $("expired").close();
    dismiss();
    // Signed in with Mobile BankID: the accounts, at the app's own address.
    if (location.hash === "#/bankid") history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  }
  if (was !== signedIn || change.type === "login") {
    show();
    if (signedIn) updateSession().catch(() => {});
  }
});

$("expired-signin").addEventListener("click", signIn);
$("expired-close").addEventListener("click", () => $("expired").close());

// ---- errors a person can act on ----

function fail(err, retry) {
  if (!err || err.code === "aborted") return;
  const what = explain(err);
  // The end of a session is shown once, by the dialog (onSessionChange), in every tab.
  if (what.action === "signin") return;
  notify(what, retry);
}

function notify(what, retry, kind = "error") {
  const box = $("notice");
  const again = retry && what.action === "retry"
    ? h("button", { type: "button", onclick: () => { dismiss(); retry(); } }, "Try again")
    : null;
  box.className = `notice ${kind}`;
  box.hidden = false; // shown before its text arrives, so screen readers announce it
  box.replaceChildren(
    h("div", {},
      h("strong", {}, what.title),
      h("p", {}, what.detail),
      what.requestId ? h("small", {}, `Reference for support: ${what.requestId}`) : null),
    h("div", { class: "actions" },
      again,
      h("button", { type: "button", class: "ghost", "aria-label": "Dismiss", onclick: dismiss }, "Dismiss")),
  );
  box.hidden = false;
}

function dismiss() {
  $("notice").hidden = true;
  $("notice").replaceChildren();
}

// ---- the locale of amounts and dates ----

const pick = $("locale");
for (const l of LOCALES) pick.append(new Option(l, l, false, l === locale));
pick.addEventListener("change", () => {
  localStorage.setItem("valv-demo-locale", pick.value);
  location.reload();
});

// ---- start ----

// A login the bank or the broker refused comes back as `?valvError=<code>`: say so once,
// then drop it from the address bar.
const params = new URLSearchParams(location.search);
const loginFailed = params.get("valvError");
if (loginFailed) {
  params.delete("valvError");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
}

try {
  signedIn = (await valv.session()).authenticated;
} catch (err) {
  fail(err, () => location.reload());
}
await show();
if (signedIn) updateSession().catch((err) => fail(err));
if (loginFailed) notify(loginError(loginFailed), null);
