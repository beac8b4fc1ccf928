// Sign in with Mobile BankID, without leaving the page: valv.bankIdLogin() runs the bank's
// decoupled login through the broker; this screen shows BankID's animated QR code and its
// words for each step, a link that opens BankID on this device, and — in the sandbox — a
// link to the sandbox's stand-in for the BankID app.
import { bankIdPanel } from "../lib/bankid.js";
import { h } from "../lib/dom.js";

export function render(view, ctx) {
  const { valv, onCancel, fail, signal } = ctx;
  const controller = new AbortController(); // the Cancel button
  const panel = bankIdPanel("Starting Mobile BankID…");
  let over = false; // the login ended (failed): Cancel only goes back
  const cancel = h("button", { type: "button", class: "ghost", onclick: () => (over ? onCancel() : controller.abort()) }, "Cancel");
  const again = h("button", { type: "button", class: "primary", hidden: true, onclick: () => render(view, ctx) }, "Try again");
  view.replaceChildren(
    h("section", { class: "card bankid", "aria-labelledby": "bankid-title" },
      h("h1", { id: "bankid-title", tabindex: "-1" }, "Sign in with Mobile BankID"),
      h("p", {}, "Scan the QR code with the BankID app on your phone, or open BankID on this device."),
      panel.qr, panel.message,
      h("div", { class: "actions" }, panel.open, panel.phone, again, cancel),
    ),
  );
  view.querySelector("#bankid-title").focus();

  valv
    .bankIdLogin({
      returnTo: "/",
      // Cancelled here, or this screen was replaced (the app signed in, or went elsewhere).
      signal: AbortSignal.any([controller.signal, signal]),
      onUpdate(update) {
        panel.update(update);
        view.querySelector(".bankid").dataset.status = update.status;
      },
    })
    .catch((err) => {
      if (err.code === "aborted") {
        if (controller.signal.aborted) onCancel();
        return;
      }
      over = true;
      panel.hide();
      if (err.code === "login_failed") {
        panel.message.textContent = err.message; // BankID's own words: "Action cancelled.", …
        again.hidden = false;
        again.focus();
      } else {
        fail(err, () => render(view, ctx));
      }
    });
  // Signed in: the app hears it through valv.onSessionChange and shows the accounts.
}
