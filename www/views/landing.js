// The signed-out screen: what the demo is, the sign-in button, the sandbox's test people.
import { h } from "../lib/dom.js";

/** The sandbox bank's test people (their data is generated from the number). */
const PEOPLE = [
  ["9311219639", "Anna Andersson", "3 — the ones SEB's Postman collections use"],
  ["9311219589", "Erik Eriksson", "2"],
  ["8811215477", "Maria Johansson", "3"],
  ["8811212862", "Lars Nilsson", "2"],
  ["8311211356", "Karin Larsson", "3"],
];

export function render(view, { onSignIn, onBankId }) {
  const signIn = h("button", { type: "button", class: "primary big", onclick: onSignIn }, "Sign in with SEB (sandbox)");
  const bankId = h("button", { type: "button", class: "big", onclick: onBankId }, "Sign in with Mobile BankID");
  view.replaceChildren(
    h("section", { class: "hero" },
      h("h1", {}, "A bank app with no tokens in the browser"),
      h("p", { class: "lead" },
        "This is a single-page app on SEB's open banking APIs. It signs you in with OAuth, shows your accounts and makes payments — ",
        "and the page never holds an access token, a refresh token or a client secret."),
      h("div", { class: "actions" }, signIn, bankId),
    ),
    h("section", { class: "card proofs", "aria-labelledby": "proofs-title" },
      h("h2", { id: "proofs-title" }, "What it proves"),
      h("ul", {},
        h("li", {}, h("strong", {}, "Tokens stay on the server. "), "The Valv broker exchanges the login code, keeps the tokens encrypted and refreshes them; this page gets an HttpOnly cookie it cannot read."),
        h("li", {}, h("strong", {}, "Every call is checked. "), "API calls go through the broker with a CSRF header, an allow-list of bank routes and rate limits."),
        h("li", {}, h("strong", {}, "Real PSD2 flows. "), "Accounts, balances, transactions, and payments signed with (simulated) Mobile BankID, against an offline copy of SEB's sandbox."),
      ),
    ),
    h("section", { class: "card", "aria-labelledby": "people-title" },
      h("h2", { id: "people-title" }, "Test people"),
      h("p", {}, "The bank's login page (and the sandbox's BankID app) asks for a personal identity number. Use one of these:"),
      h("table", { class: "people" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Identity number"), h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Accounts"))),
        h("tbody", {}, PEOPLE.map(([pin, name, note]) =>
          h("tr", {}, h("td", {}, h("code", {}, pin)), h("td", {}, name), h("td", {}, note)))),
      ),
    ),
  );
  return signIn;
}
