// A domestic payment from one of the bank's templates: the form (checked by valv-client's
// own payment rules), then signing with Mobile BankID, followed until the bank's final word.
import { bankIdPanel } from "../lib/bankid.js";
import { h, $ } from "../lib/dom.js";
import { formatMoney, parseAmount } from "../lib/money.js";
import { fieldErrors } from "../lib/errors.js";
import { balanceOf } from "./account.js";

/** How each template names its payee's account. */
const CREDITOR = {
  "swedish-domestic-private-credit-transfers": { key: "iban", label: "To account (IBAN)", hint: "SE + 22 digits" },
  "swedish-domestic-private-bankgiros": { key: "bgnr", label: "Bankgiro number", hint: "e.g. 8080-1111" },
  "swedish-domestic-private-plusgiros": { key: "pgnr", label: "PlusGiro number", hint: "e.g. 12345678" },
};

/** Statuses people understand. */
const STATUS = {
  RCVD: "Received by the bank — waiting for your signature",
  ACTC: "Signed — the bank is checking it",
  ACSC: "Paid — booked on your account today",
  ACCC: "Paid — booked on your account today",
  RJCT: "Rejected by the bank",
  CANC: "Cancelled",
};

export async function render(view, ctx) {
  const { valv, accounts, locale, signal, fail, changed } = ctx;
  view.replaceChildren(h("h1", {}, "New payment"), h("p", { class: "loading" }, "Loading templates…"));
  const [templates, own] = await Promise.all([valv.templates({ signal }), accounts()]);
  signal.throwIfAborted(); // another screen replaced this one meanwhile
  const offered = templates.filter((t) => CREDITOR[t.templateId]);
  const field = (name, label, input, hint) => h("div", { class: "field" },
    h("label", { for: `pay-${name}` }, label),
    input,
    hint ? h("small", { id: `pay-${name}-hint` }, hint) : null,
    h("p", { class: "field-error", id: `pay-${name}-error`, hidden: true }));
  const input = (name, attrs) => h("input", { id: `pay-${name}`, name, "aria-describedby": `pay-${name}-hint pay-${name}-error`, ...attrs });

  const template = h("select", { id: "pay-template", name: "template" },
    offered.map((t) => h("option", { value: t.templateId }, describe(t))));
  const debtor = h("select", { id: "pay-debtor", name: "debtor" },
    own.filter((a) => a.iban).map((a) => h("option", { value: a.iban },
      `${a.name || a.product} · ${formatMoney(balanceOf(a, "interimAvailable"), locale)} available`)));
  const creditor = input("creditor", { required: true, autocomplete: "off" });
  const creditorLabel = h("span");
  const form = h("form", { class: "card pay", novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
    field("template", "Template", template),
    field("debtor", "From", debtor),
    h("div", { class: "field" },
      h("label", { for: "pay-creditor" }, creditorLabel), creditor,
      h("small", { id: "pay-creditor-hint" }),
      h("p", { class: "field-error", id: "pay-creditor-error", hidden: true })),
    field("name", "Payee name", input("name", { autocomplete: "off", maxlength: 70 })),
    field("amount", "Amount (SEK)", input("amount", { required: true, inputmode: "decimal", autocomplete: "off" }), "e.g. 250 or 99.50"),
    field("message", "Message to the payee", input("message", { maxlength: 35, autocomplete: "off" })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Continue")),
  );
  const progress = h("section", { class: "card progress", "aria-labelledby": "progress-title", hidden: true });
  view.replaceChildren(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← Accounts")), h("h1", {}, "New payment"), form, progress);

  template.addEventListener("change", () => prefill(template.value));
  let prefilled = 0; // the newest prefill; an older answer arriving late is dropped
  await prefill(template.value);

  async function prefill(id) {
    const seq = ++prefilled;
    const kind = CREDITOR[id];
    creditorLabel.textContent = kind.label;
    $("pay-creditor-hint").textContent = kind.hint;
    // The template's own example payee, as the bank gives it.
    const t = await valv.request("GET", `/pis/v7/identified2/templates/${encodeURIComponent(id)}`, undefined, { signal }).catch(() => ({}));
    if (seq !== prefilled || signal.aborted) return; // another template was picked meanwhile
    creditor.value = (t.creditorAccount && t.creditorAccount[kind.key]) || "";
    form.elements.name.value = t.creditorName || "";
    form.dataset.template = id;
    clearErrors();
  }

  function clearErrors() {
    for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
    for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  function mark(name, message) {
    const p = $(`pay-${name}-error`);
    p.textContent = message;
    p.hidden = false;
    $(`pay-${name}`).setAttribute("aria-invalid", "true");
  }

  function body() {
    const id = template.value;
    const f = form.elements;
    const message = f.message.value.trim();
    const b = {
      templateId: id,
      instructedAmount: { amount: f.amount.value.trim().replace(",", "."), currency: "SEK" },
      debtorAccount: { iban: debtor.value },
      creditorAccount: { [CREDITOR[id].key]: creditor.value.trim().replace(/\s+/g, "") },
      creditorName: f.name.value.trim() || undefined,
    };
    if (message) {
      if (id.endsWith("credit-transfers")) b.creditorAccountMessage = message;
      else b.remittanceInformationUnstructured = message;
    }
    return b;
  }

  let sending = false;
  async function submit() {
    if (sending) return; // one payment per press, however often it is pressed
    sending = true;
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      await send();
    } finally {
      sending = false;
      button.disabled = false;
    }
  }

  async function send() {
    clearErrors();
    const b = body();
    let ok = true;
    try {
      const a = parseAmount(b.instructedAmount.amount);
      if (a.units <= 0n) throw new RangeError();
      if (a.scale > 2) { mark("amount", "Use at most two decimals (öre)."); ok = false; }
    } catch {
      mark("amount", "Enter an amount above zero, like 250 or 99.50.");
      ok = false;
    }
    if (!b.creditorAccount[CREDITOR[b.templateId].key]) { mark("creditor", "Enter where the money should go."); ok = false; }
    if (!ok) return form.querySelector("[aria-invalid]").focus();

    let created;
    try {
      created = await valv.initiatePayment(b.templateId, b, { signal });
    } catch (err) {
      if (err.code === "invalid_argument" && showFieldErrors(err.message)) return;
      return fail(err);
    }
    form.hidden = true;
    follow(b, created);
  }

  /** valv-client's rules name the member; show each message at its field. */
  function showFieldErrors(message) {
    const where = (path) => /Message|remittance/.test(path) ? "message"
      : path.startsWith("creditorAccount") ? "creditor"
      : path.startsWith("instructedAmount") ? "amount"
      : path === "creditorName" ? "name"
      : path.startsWith("debtorAccount") ? "debtor" : null;
    const errors = fieldErrors(message).filter((e) => where(e.path));
    for (const e of errors) mark(where(e.path), e.message);
    if (errors.length) form.querySelector("[aria-invalid]").focus();
    return errors.length > 0;
  }

  function follow(b, created) {
    const product = b.templateId;
    const id = created.paymentId;
    const state = h("p", { class: "state", role: "status" });
    const steps = h("ol", { class: "steps" }, ["Received", "Signed", "Paid"].map((s) => h("li", {}, s)));
    const sign = h("button", { type: "button", class: "primary", onclick: () => signIt() }, "Sign with Mobile BankID");
    const panel = bankIdPanel("");
    const bankid = h("div", { class: "bankid", hidden: true }, panel.qr, panel.message, h("div", { class: "actions" }, panel.open, panel.phone));
    const cancel = h("button", { type: "button", class: "danger", onclick: () => cancelIt() }, "Cancel payment");
    const again = h("button", { type: "button", class: "ghost", hidden: true, onclick: () => render(view, ctx).catch((e) => fail(e)) }, "New payment");
    const from = own.find((a) => a.iban === b.debtorAccount.iban);
    const see = h("a", { class: "button", hidden: true, href: `#/accounts/${encodeURIComponent(from ? from.resourceId : "")}` }, `See it on ${from ? from.name || "the account" : "the account"}`);
    let signing = null; // the BankID signing, while it runs
    let waiting = null; // the wait for the bank's final word, while it runs
    let done = false; // a final status was shown
    progress.replaceChildren(
      h("h2", { id: "progress-title", tabindex: "-1" }, `${formatMoney(b.instructedAmount, locale)} to ${b.creditorName || Object.values(b.creditorAccount)[0]}`),
      steps, state, bankid,
      h("div", { class: "actions" }, sign, cancel, see, again),
    );
    progress.hidden = false;
    progress.querySelector("h2").focus();
    show(created.transactionStatus || "RCVD");

    /** Hides a button; if it had the focus, the focus goes to the payment's heading. */
    function hide(button) {
      if (document.activeElement === button) progress.querySelector("h2").focus();
      button.hidden = true;
    }

    function show(status, reason) {
      const reached = { RCVD: 1, ACTC: 2, ACSC: 3, ACCC: 3 }[status] || 0;
      [...steps.children].forEach((li, i) => li.classList.toggle("done", i < reached));
      state.textContent = reason ? `${STATUS[status] || status}: ${reason}` : STATUS[status] || `Status ${status}`;
      state.className = `state ${status === "ACSC" || status === "ACCC" ? "ok" : status === "RJCT" || status === "CANC" ? "bad" : ""}`;
      progress.dataset.status = status;
      const final = ["ACSC", "ACCC", "RJCT", "CANC"].includes(status);
      if (final) hide(cancel);
      again.hidden = !final;
      see.hidden = !(status === "ACSC" || status === "ACCC") || !from;
      if (final) { done = true; hide(sign); changed(); }
    }

    /** Signs with Mobile BankID (QR code, or BankID on this device), then follows the payment. */
    async function signIt() {
      sign.disabled = true;
      signing = new AbortController();
      state.textContent = "Starting Mobile BankID…";
      bankid.hidden = false;
      hide(sign);
      try {
        await valv.signPayment(product, id, {
          signal: AbortSignal.any([signal, signing.signal]),
          onUpdate(update) {
            panel.update(update);
            bankid.dataset.status = update.status;
            state.textContent = "Waiting for your signature in BankID";
          },
        });
      } catch (err) {
        bankid.hidden = true;
        panel.hide();
        if (done || err.code === "aborted") return;
        sign.disabled = false;
        sign.hidden = false;
        if (err.code === "sca_failed") {
          state.textContent = `Not signed: ${err.message}`; // "The signing was cancelled or took too long…"
          sign.textContent = "Sign again with Mobile BankID";
          sign.focus();
          return;
        }
        return fail(err, () => signIt());
      } finally {
        signing = null;
      }
      bankid.hidden = true;
      panel.hide();
      if (done) return; // cancelled meanwhile
      state.textContent = "Signed — the bank is checking it";
      await watch();
    }

    /** Follows the payment until its final status (ends with the view or a cancel). */
    async function watch() {
      waiting = new AbortController();
      try {
        const both = AbortSignal.any([signal, waiting.signal]);
        const final = await valv.waitForPayment(product, id, { signal: both, intervalMs: 1000, timeoutMs: 120000 });
        if (done) return;
        const said = (final.tppMessages || []).map((m) => (typeof m === "string" ? m : m.text)).filter(Boolean).join(" ");
        show(final.transactionStatus, final.transactionStatus === "RJCT" ? said || "no reason was given" : undefined);
      } catch (err) {
        if (done || err.code === "aborted") return;
        fail(err, () => watch());
      } finally {
        waiting = null;
      }
    }

    async function cancelIt() {
      cancel.disabled = true;
      const wasWatching = waiting !== null;
      const wasSigning = signing !== null;
      if (waiting) waiting.abort();
      if (signing) signing.abort();
      try {
        await valv.cancelPayment(product, id, { signal });
        show("CANC");
      } catch (err) {
        cancel.disabled = false;
        fail(err);
        // The bank refused (it may be signed already): keep following it.
        if ((wasWatching || wasSigning) && !done) watch();
      }
    }
  }
}

function describe(t) {
  return {
    "swedish-domestic-private-credit-transfers": "Transfer to a Swedish account",
    "swedish-domestic-private-bankgiros": "Bankgiro payment",
    "swedish-domestic-private-plusgiros": "PlusGiro payment",
  }[t.templateId] || t.description || t.templateId;
}
