// The signed-in home: every account with its available and booked balance, and the total.
import { h } from "../lib/dom.js";
import { formatMoney, parseAmount, toUnits, fromUnits } from "../lib/money.js";
import { balanceOf } from "./account.js";

export async function render(view, { accounts, locale, signal }) {
  view.replaceChildren(h("h1", {}, "Accounts"), h("p", { class: "loading" }, "Loading your accounts…"));
  const list = await accounts();
  signal.throwIfAborted();
  const total = sum(list.map((a) => balanceOf(a, "interimAvailable")).filter(Boolean));
  view.replaceChildren(
    h("div", { class: "title-row" },
      h("h1", {}, "Accounts"),
      total ? h("p", { class: "total" }, "Available in total ", h("strong", {}, formatMoney(total, locale))) : null,
    ),
    list.length === 0
      ? h("p", { class: "empty" }, "The bank shows no accounts for this sign-in.")
      : h("ul", { class: "accounts" }, list.map((a) => card(a, locale))),
    h("p", { class: "actions" }, h("a", { class: "button primary", href: "#/pay" }, "New payment")),
  );
}

function card(account, locale) {
  const available = balanceOf(account, "interimAvailable");
  const booked = balanceOf(account, "interimBooked");
  return h("li", {},
    h("a", { class: "card account", href: `#/accounts/${encodeURIComponent(account.resourceId)}` },
      h("span", { class: "name" }, account.name || account.product || "Account"),
      h("span", { class: "number" }, account.product ? `${account.product} · ${account.iban || account.bban || ""}` : account.iban || ""),
      h("span", { class: "amount" }, formatMoney(available, locale)),
      h("span", { class: "sub" }, booked ? `Booked ${formatMoney(booked, locale)}` : ""),
    ),
  );
}

/** Sum of amounts of one currency (exact); `null` when there are several currencies. */
function sum(amounts) {
  if (amounts.length === 0) return null;
  const currency = amounts[0].currency;
  if (amounts.some((a) => a.currency !== currency)) return null;
  const scale = Math.max(...amounts.map((a) => parseAmount(a.amount).scale));
  return { amount: fromUnits(amounts.reduce((s, a) => s + toUnits(a.amount, scale), 0n), scale), currency };
}
