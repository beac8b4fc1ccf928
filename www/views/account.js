// One account: its balance over time (an SVG chart), its pending and booked transactions
// page by page, a date filter, and one transaction's details in a dialog.
import { h } from "../lib/dom.js";
import { formatMoney } from "../lib/money.js";
import { formatDate } from "../lib/dates.js";
import { balanceHistory, chartGeometry } from "../lib/balance.js";

/** The account's balance of `type` (`interimAvailable`, `interimBooked`) as an amount. */
export function balanceOf(account, type) {
  const b = (account.balances || []).find((x) => x.balanceType === type);
  return b ? b.balanceAmount : null;
}

export async function render(view, { valv, accounts, locale, signal, fail }, accountId) {
  view.replaceChildren(h("p", { class: "loading" }, "Loading the account…"));
  const account = (await accounts()).find((a) => a.resourceId === accountId);
  signal.throwIfAborted();
  if (!account) {
    view.replaceChildren(h("h1", {}, "Account not found"), h("p", {}, h("a", { href: "#/" }, "Back to your accounts")));
    return;
  }
  const booked = balanceOf(account, "interimBooked");
  const state = { pages: null, booked: [], filtered: false };

  const chart = h("figure", { class: "card chart", "aria-labelledby": "chart-title", hidden: true });
  const pendingList = h("tbody");
  const bookedList = h("tbody");
  const pendingSection = h("section", { class: "card", "aria-labelledby": "pending-title", hidden: true },
    h("h2", { id: "pending-title" }, "Pending"), table(pendingList, "Date"));
  const more = h("button", { type: "button", class: "ghost", onclick: () => loadMore().catch((e) => fail(e)) }, "Load more");
  const status = h("p", { class: "status", role: "status" });
  const from = h("input", { type: "date", id: "date-from", name: "dateFrom" });
  const to = h("input", { type: "date", id: "date-to", name: "dateTo" });
  const filter = h("form", { class: "filter", "aria-label": "Filter by date", onsubmit: (e) => { e.preventDefault(); start().catch((err) => fail(err)); } },
    h("label", { for: "date-from" }, "From", from),
    h("label", { for: "date-to" }, "To", to),
    h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", class: "ghost", onclick: () => { from.value = ""; to.value = ""; start().catch((e) => fail(e)); } }, "Clear"),
  );
  const details = h("dialog", { class: "details", "aria-labelledby": "details-title" });

  view.replaceChildren(
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← Accounts")),
    h("div", { class: "title-row" },
      h("h1", {}, account.name || account.product || "Account", h("small", {}, account.iban || account.bban || "")),
      h("p", { class: "total" }, "Available ", h("strong", {}, formatMoney(balanceOf(account, "interimAvailable"), locale)),
        booked ? h("span", { class: "sub" }, ` · booked ${formatMoney(booked, locale)}`) : null),
    ),
    chart,
    pendingSection,
    h("section", { class: "card", "aria-labelledby": "booked-title" },
      h("div", { class: "title-row" }, h("h2", { id: "booked-title" }, "Transactions"), filter),
      table(bookedList, "Booked"),
      h("div", { class: "more" }, more, status),
    ),
    details,
  );

  async function start() {
    if (from.value && to.value && from.value > to.value) {
      status.textContent = "The start date must be on or before the end date.";
      return;
    }
    if (state.pages) state.pages.return();
    state.filtered = Boolean(from.value || to.value);
    state.booked = [];
    bookedList.replaceChildren();
    pendingList.replaceChildren();
    state.pages = valv.transactions(accountId, {
      bookingStatus: "both",
      dateFrom: from.value || undefined,
      dateTo: to.value || undefined,
      signal,
    });
    await loadMore();
  }

  async function loadMore() {
    const pages = state.pages;
    more.disabled = true;
    status.textContent = "Loading transactions…";
    let step;
    try {
      step = await pages.next();
    } catch (err) {
      if (pages !== state.pages) return; // a newer filter replaced this list
      status.textContent = "";
      more.disabled = false;
      fail(err, () => loadMore());
      return;
    }
    if (pages !== state.pages) return; // a newer filter replaced this list
    const page = step.done ? null : step.value.transactions;
    if (page) {
      for (const t of page.pending || []) pendingList.append(row(t, true));
      pendingSection.hidden = pendingList.rows.length === 0;
      for (const t of page.booked || []) bookedList.append(row(t, false));
      state.booked.push(...(page.booked || []));
      drawChart();
    }
    const n = state.booked.length;
    const done = step.done || state.filtered || !(step.value._links?.next || step.value.transactions?._links?.next);
    more.hidden = done;
    more.disabled = false;
    status.textContent = n === 0 ? "No transactions in this period." : `${n} transactions shown${done ? " — that is all" : ""}.`;
  }

  function row(t, pending) {
    const amount = t.transactionAmount;
    const text = t.descriptiveText || t.creditorName || t.debtorName || t.remittanceInformationUnstructured || "Transaction";
    const open = h("button", { type: "button", class: "link", onclick: () => showDetails(t) }, text);
    const iso = pending ? t.valueDate : t.bookingDate || t.valueDate;
    const when = formatDate(iso, locale);
    return h("tr", { "data-date": iso },
      h("td", {}, when),
      h("td", {}, open, pending && t.pendingType ? h("span", { class: "tag" }, t.pendingType === "reserved" ? "reserved" : "upcoming") : null,
        h("span", { class: "when", "aria-hidden": "true" }, when)),
      h("td", { class: `num${amount && amount.amount.startsWith("-") ? "" : " positive"}` }, formatMoney(amount, locale)),
    );
  }

  let opened = 0;
  async function showDetails(t) {
    const seq = ++opened;
    details.replaceChildren(h("h2", { id: "details-title" }, "Transaction"), h("p", { class: "loading" }, "Loading…"));
    details.showModal();
    let full = t;
    if (t.transactionId) {
      try {
        full = await valv.transaction(accountId, t.transactionId, { signal });
      } catch (err) {
        if (seq !== opened) return;
        details.close();
        fail(err, () => showDetails(t));
        return;
      }
    }
    if (seq !== opened || !details.open) return; // another transaction was opened, or it was closed
    const fields = [
      ["Amount", formatMoney(full.transactionAmount, locale)],
      ["Booked", full.bookingDate && formatDate(full.bookingDate, locale)],
      ["Value date", full.valueDate && formatDate(full.valueDate, locale)],
      ["To", full.creditorName],
      ["From", full.debtorName],
      ["Text", full.descriptiveText],
      ["Message", full.remittanceInformationUnstructured],
      ["Type", full.proprietaryBankTransactionCodeText || full.pendingType],
      ["Balance after", full.balanceAfterTransaction && formatMoney(full.balanceAfterTransaction.balanceAmount || full.balanceAfterTransaction, locale)],
      ["Reference", full.entryReference],
    ].filter(([, v]) => v);
    details.replaceChildren(
      h("h2", { id: "details-title" }, full.descriptiveText || full.creditorName || "Transaction"),
      h("dl", {}, fields.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("div", { class: "actions" }, h("button", { type: "button", class: "primary", autofocus: true, onclick: () => details.close() }, "Close")),
    );
    details.querySelector("button").focus();
  }

  function drawChart() {
    // Anchored at the current booked balance, or (filtered) at the newest shown transaction's.
    const newest = state.booked[0];
    const after = newest && newest.balanceAfterTransaction;
    const anchor = state.filtered ? after && (after.balanceAmount || after) : booked;
    const points = anchor ? balanceHistory(anchor, state.booked) : [];
    const g = chartGeometry(points, { width: 640, height: 180, pad: 6 });
    chart.hidden = false;
    if (!g || points.length < 2) {
      chart.replaceChildren(h("figcaption", { id: "chart-title" }, "Balance"), h("p", { class: "empty" }, "Not enough transactions to draw the balance."));
      return;
    }
    const currency = anchor.currency;
    const label = `Balance from ${formatDate(g.first, locale)} to ${formatDate(g.last, locale)}: between ${formatMoney({ amount: g.min, currency }, locale)} and ${formatMoney({ amount: g.max, currency }, locale)}`;
    chart.replaceChildren(
      h("figcaption", { id: "chart-title" }, "Balance over time"),
      h("svg", { viewBox: "0 0 640 180", class: "spark", role: "img", "aria-label": label, preserveAspectRatio: "none" },
        h("defs", {}, h("linearGradient", { id: "fill", x1: "0", y1: "0", x2: "0", y2: "1" },
          h("stop", { offset: "0", "stop-color": "#0b5c4b", "stop-opacity": ".28" }),
          h("stop", { offset: "1", "stop-color": "#0b5c4b", "stop-opacity": "0" }))),
        h("path", { d: g.area, fill: "url(#fill)" }),
        h("path", { d: g.line, fill: "none", stroke: "#0b5c4b", "stroke-width": "2", "vector-effect": "non-scaling-stroke" }),
      ),
      h("div", { class: "axis" },
        h("span", {}, formatDate(g.first, locale)),
        h("span", {}, `${formatMoney({ amount: g.min, currency }, locale)} – ${formatMoney({ amount: g.max, currency }, locale)}`),
        h("span", {}, formatDate(g.last, locale)),
      ),
    );
  }

  await start();
}

function table(body, dateHeading) {
  return h("div", { class: "scroll" }, h("table", { class: "transactions" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, dateHeading),
      h("th", { scope: "col" }, "Description"),
      h("th", { scope: "col", class: "num" }, "Amount"))),
    body));
}
